extension ScalarKernels {
    /// QUANT.md kernel 2: the `height x width` grid of rows of `channels` (token `n = y * width + x`)
    /// becomes `(height / k) * (width / k)` rows of `channels * k * k`, ordered `(c, ky, kx)` like a
    /// PyTorch conv weight. Cells past the last whole patch are dropped (floor).
    public static func patchify(
        _ x: UnsafeBufferPointer<Int8>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        gather(x, height: height, width: width, channels: channels, kernel: k, into: y) { $0 }
    }

    /// The stem's patchify: reads the uint8 HWC image and writes `u - 128`.
    public static func patchifyImage(
        _ image: UnsafeBufferPointer<UInt8>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        gather(image, height: height, width: width, channels: channels, kernel: k, into: y) {
            Int8(Int16($0) - 128)
        }
    }

    @inline(__always)
    private static func gather<T>(
        _ x: UnsafeBufferPointer<T>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>, _ code: (T) -> Int8
    ) {
        let (ph, pw, depth) = checkPatchify(x.count, height, width, channels, k, y.count)
        for py in 0..<ph {
            for px in 0..<pw {
                let out = (py * pw + px) * depth
                for c in 0..<channels {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            y[out + (c * k + ky) * k + kx] = code(x[((py * k + ky) * width + px * k + kx) * channels + c])
                        }
                    }
                }
            }
        }
    }

    private static func checkPatchify(
        _ xCount: Int, _ height: Int, _ width: Int, _ channels: Int, _ k: Int, _ yCount: Int
    ) -> (Int, Int, Int) {
        precondition(k >= 1 && height >= k && width >= k && channels >= 1, "patchify of an empty grid")
        precondition(xCount == height * width * channels, "patchify input is \(xCount), expected \(height)x\(width)x\(channels)")
        let (ph, pw, depth) = (height / k, width / k, channels * k * k)
        precondition(yCount >= ph * pw * depth, "patchify output too short")
        return (ph, pw, depth)
    }
}
