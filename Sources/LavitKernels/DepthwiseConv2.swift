/// QUANT.md kernel 9, the AR's depth-wise 2x2 stride-2 conv: `.w` int8 [channels, 4] in (dy, dx)
/// order and per channel `.b`, `.m`, `.s`; `zeroPoint` is `.p = [z_out]`.
public struct DepthwiseConv2Parameters {
    public var weights: UnsafeBufferPointer<Int8>
    public var bias: UnsafeBufferPointer<Int32>
    public var multiplier: UnsafeBufferPointer<Int32>
    public var shift: UnsafeBufferPointer<Int32>
    public var zeroPoint: Int64

    public init(
        weights: UnsafeBufferPointer<Int8>, bias: UnsafeBufferPointer<Int32>,
        multiplier: UnsafeBufferPointer<Int32>, shift: UnsafeBufferPointer<Int32>, zeroPoint: Int64
    ) {
        let channels = bias.count
        precondition(weights.count == channels * 4 && multiplier.count == channels && shift.count == channels)
        self.weights = weights
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.zeroPoint = zeroPoint
    }

    public var channels: Int { bias.count }
}

extension ScalarKernels {
    /// `s` is `(channels, height * width, keys)` over the query grid `height x width`; `u` is
    /// `(channels, (height / 2) * (width / 2), keys)`. For channel c, cell (y, x) and key j:
    /// `acc = sum_{dy,dx} w[c, 2 dy + dx] s[c, (2y + dy) width + 2x + dx, j] + b[c]`,
    /// `u = sat8(z_out + RS(acc m[c], s[c]))`. An odd last row or column is dropped (floor).
    public static func depthwiseConv2(
        _ s: UnsafeBufferPointer<Int8>, height: Int, width: Int, keys: Int, _ p: DepthwiseConv2Parameters,
        into u: UnsafeMutableBufferPointer<Int8>
    ) {
        let channels = p.channels
        let (outHeight, outWidth) = (height / 2, width / 2)
        let inCells = height * width
        let outCells = outHeight * outWidth
        precondition(outCells >= 1 && keys >= 1, "depthwise conv of an empty grid")
        precondition(s.count >= channels * inCells * keys && u.count >= channels * outCells * keys, "depthwise conv buffers too short")
        for c in 0..<channels {
            let (m, shift) = (Int64(p.multiplier[c]), Int64(p.shift[c]))
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    let out = (c * outCells + y * outWidth + x) * keys
                    for j in 0..<keys {
                        var acc = Int64(p.bias[c])
                        for dy in 0..<2 {
                            for dx in 0..<2 {
                                let cell = (2 * y + dy) * width + 2 * x + dx
                                acc += Int64(p.weights[c * 4 + dy * 2 + dx]) * Int64(s[(c * inCells + cell) * keys + j])
                            }
                        }
                        u[out + j] = requantize(acc, multiplier: m, shift: shift, zeroPoint: p.zeroPoint)
                    }
                }
            }
        }
    }
}
