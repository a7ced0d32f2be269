/// YUYV (YUY2) 4:2:2 camera frames to RGB, for cameras without MJPEG.
///
/// Each 4 bytes `Y0 U Y1 V` give two pixels sharing U and V (no chroma interpolation: both
/// pixels use their pair's U and V). BT.601 limited range (Y 16...235, U and V 16...240) in
/// fixed point with 8 fractional bits, the coefficients being the exact ones times 256, rounded:
///
///     C = Y - 16, D = U - 128, E = V - 128
///     R = clamp((298 C           + 409 E + 128) >> 8)     298 = 256 * 255/219
///     G = clamp((298 C - 100 D   - 208 E + 128) >> 8)     409 = 256 * 1.402 * 255/224
///     B = clamp((298 C + 516 D           + 128) >> 8)     100, 208 = 256 * (0.344136, 0.714136) * 255/224
///                                                          516 = 256 * 1.772 * 255/224
///
/// `>>` is an arithmetic shift (floor division by 256), so `+ 128` rounds half up; clamp is to
/// 0...255. Every result is within 1 of the exact real-valued conversion, rounded.
extension RGBImage {
    public init(yuyv: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int) throws(ImageError) {
        self.init(width: 1, height: 1)
        try loadYUYV(yuyv, width: width, height: height, bytesPerLine: bytesPerLine)
    }

    public init(yuyv: [UInt8], width: Int, height: Int, bytesPerLine: Int) throws(ImageError) {
        self.init(width: 1, height: 1)
        var image = self
        let result = yuyv.withUnsafeBytes { bytes in
            Result { () throws(ImageError) in
                try image.loadYUYV(bytes, width: width, height: height, bytesPerLine: bytesPerLine)
            }
        }
        try result.get()
        self = image
    }

    /// Converts a frame into this image, reusing its storage when the size is unchanged.
    /// `bytesPerLine` is V4L2's stride, at least `2 * width`.
    public mutating func loadYUYV(
        _ yuyv: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int
    ) throws(ImageError) {
        do throws(ImageError.Reason) {
            try ImageLimits.check(width: width, height: height)
        } catch {
            throw ImageError(error)
        }
        guard width % 2 == 0 else { throw ImageError(.badYUYVFrame("width \(width) is odd")) }
        guard bytesPerLine >= 2 * width else {
            throw ImageError(.badYUYVFrame("\(bytesPerLine) bytes per line is less than 2 x width \(width)"))
        }
        let needed = bytesPerLine * (height - 1) + 2 * width
        guard yuyv.count >= needed else {
            throw ImageError(.badYUYVFrame(
                "\(yuyv.count) bytes, \(width)x\(height) at \(bytesPerLine) bytes per line needs \(needed)"))
        }
        resize(width: width, height: height)
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                let row = y * bytesPerLine
                for pair in 0..<(width / 2) {
                    let at = row + 4 * pair
                    let d = Int(yuyv[at + 1]) - 128
                    let e = Int(yuyv[at + 3]) - 128
                    let o = (y * width + 2 * pair) * 3
                    YUYV.store(luma: yuyv[at], d: d, e: e, to: out, at: o)
                    YUYV.store(luma: yuyv[at + 2], d: d, e: e, to: out, at: o + 3)
                }
            }
        }
    }
}

enum YUYV {
    @inline(__always)
    static func store(luma: UInt8, d: Int, e: Int, to out: UnsafeMutableBufferPointer<UInt8>, at o: Int) {
        let c = 298 * (Int(luma) - 16) + 128
        out[o] = clamp((c + 409 * e) >> 8)
        out[o + 1] = clamp((c - 100 * d - 208 * e) >> 8)
        out[o + 2] = clamp((c + 516 * d) >> 8)
    }

    @inline(__always)
    static func clamp(_ value: Int) -> UInt8 { UInt8(min(max(value, 0), 255)) }
}
