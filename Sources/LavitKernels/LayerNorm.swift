/// QUANT.md kernel 3: `.g` int32 [C], `.bb` int64 [C] and `.p = [z_in, E, shift, z_out]`.
public struct LayerNormParameters {
    public var gain: UnsafeBufferPointer<Int32>
    public var bias: UnsafeBufferPointer<Int64>
    public var zeroIn: Int64
    public var epsilon: Int64
    public var shift: Int64
    public var zeroOut: Int64

    public init(
        gain: UnsafeBufferPointer<Int32>, bias: UnsafeBufferPointer<Int64>,
        zeroIn: Int64, epsilon: Int64, shift: Int64, zeroOut: Int64
    ) {
        precondition(gain.count == bias.count && gain.count >= 1, "layernorm gain and bias lengths differ")
        self.gain = gain
        self.bias = bias
        self.zeroIn = zeroIn
        self.epsilon = epsilon
        self.shift = shift
        self.zeroOut = zeroOut
    }

    public var channels: Int { gain.count }
}

extension ScalarKernels {
    /// Per row of C: `q_i = x_i - z_in`, `S = sum q_i`, `D_i = C q_i - S`, `W = V + E` with
    /// `V = sum D_i^2`, `R = isqrt(W 4^k)` with k fractional bits (`layerNormRootBits`),
    /// `inv = floor(2^(40+k) / R)`, `t_i = RS(D_i inv, 25)`,
    /// `y_i = sat8(z_out + RS(t_i g_i + bb_i, shift))`. `y` may be `x` itself: each `y_i` is written
    /// after the row's sums and depends on `x_i` alone.
    public static func layerNorm(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, _ p: LayerNormParameters,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        let c = p.channels
        precondition(x.count >= rows * c && y.count >= rows * c, "layernorm buffers too short")
        let width = Int64(c)
        for row in 0..<rows {
            let base = row * c
            var s: Int64 = 0
            for i in 0..<c { s += Int64(x[base + i]) - p.zeroIn }
            var v: Int64 = 0
            for i in 0..<c {
                let d = width * (Int64(x[base + i]) - p.zeroIn) - s
                v += d * d
            }
            let w = v + p.epsilon
            let k = layerNormRootBits(w)
            let inv = (Int64(1) << (40 + k)) / isqrt(w << (2 * k))
            for i in 0..<c {
                let d = width * (Int64(x[base + i]) - p.zeroIn) - s
                let t = roundingShift(d * inv, 25)
                y[base + i] = sat8(p.zeroOut + roundingShift(t * Int64(p.gain[i]) + p.bias[i], p.shift))
            }
        }
    }
}

/// QUANT.md kernel 3's `k = min(22, max(0, floor((62 - bitlen(W)) / 2)))`: as many fractional bits
/// for the root as keep `W 4^k` below 2^62 and `2^(40+k)` within int64.
@inlinable
public func layerNormRootBits(_ w: Int64) -> Int64 {
    let bits = Int64(64 - w.leadingZeroBitCount)
    return min(22, max(0, (62 - bits) / 2))
}
