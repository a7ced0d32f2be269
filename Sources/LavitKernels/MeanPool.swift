/// QUANT.md kernel 10: `.p = [z_in, M, n, z_out]`; the quantizer folds `1 / N` into `M`.
public struct MeanPoolParameters: Sendable, Equatable {
    public var zeroIn: Int64
    public var multiplier: Int64
    public var shift: Int64
    public var zeroOut: Int64

    public init(zeroIn: Int64, multiplier: Int64, shift: Int64, zeroOut: Int64) {
        self.zeroIn = zeroIn
        self.multiplier = multiplier
        self.shift = shift
        self.zeroOut = zeroOut
    }
}

extension ScalarKernels {
    /// `acc_c = sum_n (x[n, c] - z_in)`, `y_c = sat8(z_out + RS(acc_c M, n))` over `rows` rows of
    /// `y.count` channels.
    public static func meanPool(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, _ p: MeanPoolParameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        let channels = y.count
        precondition(x.count >= rows * channels, "meanpool input too short")
        for c in 0..<channels {
            var acc: Int64 = 0
            for n in 0..<rows { acc += Int64(x[n * channels + c]) - p.zeroIn }
            y[c] = requantize(acc, multiplier: p.multiplier, shift: p.shift, zeroPoint: p.zeroOut)
        }
    }
}
