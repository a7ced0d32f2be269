import Glibc

/// A positive real rescale factor `r ~= m * 2^-shift` for QUANT.md's `RS(acc * m, shift)`.
public struct Multiplier: Sendable, Equatable {
    public var m: Int64
    public var shift: Int

    /// QUANT.md's rule: `f, e = frexp(r)`, `m = round_half_even(f * 2^31)` in [2^30, 2^31],
    /// `shift = 31 - e`, and a mantissa that rounded up to 2^31 becomes 2^30 one shift lower.
    /// The shift must land in [1, 62] so that `acc * m` and the rounding term fit int64.
    public init(_ r: Double, layer: String) throws(QuantizeError) {
        guard r > 0, r.isFinite else { throw .multiplierOutOfRange(layer: layer, value: r) }
        let (f, e) = frexp(r)
        var m = Int64(roundEven(f * 0x1p31))
        var shift = 31 - e
        if m == 1 << 31 {
            m = 1 << 30
            shift -= 1
        }
        guard (1...62).contains(shift) else { throw .multiplierOutOfRange(layer: layer, value: r) }
        self.m = m
        self.shift = shift
    }

    /// The real value it stands for.
    public var value: Double { Double(m) * pow2(-shift) }
}

/// Several factors on one shift (add2's two operands, nothing else needs it): the largest shift in
/// [1, 62] that keeps `round(max r * 2^shift) < 2^31`, then each `m = round_half_even(r * 2^shift)`.
public struct SharedShift: Sendable, Equatable {
    public var ms: [Int64]
    public var shift: Int

    public init(_ rs: [Double], layer: String) throws(QuantizeError) {
        let top = rs.max() ?? 0
        for r in rs where !(r > 0 && r.isFinite) { throw .multiplierOutOfRange(layer: layer, value: r) }
        guard let shift = (1...62).reversed().first(where: { roundEven(top * pow2($0)) < 0x1p31 }) else {
            throw .multiplierOutOfRange(layer: layer, value: top)
        }
        self.shift = shift
        self.ms = rs.map { Int64(roundEven($0 * pow2(shift))) }
    }
}
