/// The quantizer's one float-to-integer rounding: half to even, as `torch.round` and
/// `numpy.round`, so a Python re-derivation of any parameter gives the same integer.
@inline(__always)
func roundEven(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

/// `round_half_even(x)` clamped to int8.
@inline(__always)
func sat8(_ x: Double) -> Int8 { Int8(max(-128, min(127, roundEven(x)))) }

/// `2^n` exactly.
@inline(__always)
func pow2(_ n: Int) -> Double { Double(sign: .plus, exponent: n, significand: 1) }
