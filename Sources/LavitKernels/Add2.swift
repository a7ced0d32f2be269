/// QUANT.md kernel 4: `.p = [z_a, z_b, z_out, M_a, M_b, n]`.
public struct Add2Parameters: Sendable, Equatable {
    public var zeroA: Int64
    public var zeroB: Int64
    public var zeroOut: Int64
    public var multiplierA: Int64
    public var multiplierB: Int64
    public var shift: Int64

    public init(zeroA: Int64, zeroB: Int64, zeroOut: Int64, multiplierA: Int64, multiplierB: Int64, shift: Int64) {
        self.zeroA = zeroA
        self.zeroB = zeroB
        self.zeroOut = zeroOut
        self.multiplierA = multiplierA
        self.multiplierB = multiplierB
        self.shift = shift
    }
}

extension ScalarKernels {
    /// `y = sat8(z_out + RS((a - z_a) M_a + (b - z_b) M_b, n))`, elementwise over `y.count`.
    /// `y` may be `a` or `b` itself (the residual adds update `x` in place).
    public static func add2(
        _ a: UnsafeBufferPointer<Int8>, _ b: UnsafeBufferPointer<Int8>, _ p: Add2Parameters,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        precondition(a.count >= y.count && b.count >= y.count, "add2 inputs too short")
        for i in 0..<y.count {
            let sum = (Int64(a[i]) - p.zeroA) * p.multiplierA + (Int64(b[i]) - p.zeroB) * p.multiplierB
            y[i] = sat8(p.zeroOut + roundingShift(sum, p.shift))
        }
    }
}
