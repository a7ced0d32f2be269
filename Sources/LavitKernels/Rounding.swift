/// QUANT.md "The one rounding rule": `RS(x, n) = (x + 2^(n-1)) >> n` with an arithmetic shift, so
/// ties round towards +inf (TFLite's single-rounding `MultiplyByQuantizedMultiplier`).
///
/// `n` must be in 1...62; the engine checks every stored shift when it loads a model, and its
/// bounds on accumulators keep `x + 2^(n-1)` inside Int64, so a trap here is a programmer error.
@inlinable
public func roundingShift(_ x: Int64, _ n: Int64) -> Int64 {
    assert(n >= 1 && n <= 62, "rounding shift \(n) outside 1...62")
    return (x + (Int64(1) << (n - 1))) >> n
}

@inlinable
public func sat8(_ x: Int64) -> Int8 {
    Int8(min(max(x, -128), 127))
}

@inlinable
public func satU8(_ x: Int64) -> UInt8 {
    UInt8(min(max(x, 0), 255))
}

@inlinable
public func sat32(_ x: Int64) -> Int32 {
    Int32(min(max(x, Int64(Int32.min)), Int64(Int32.max)))
}

/// `sat8(z + RS(acc * m, n))`, the requantization every int8-producing kernel ends with.
@inlinable
public func requantize(_ acc: Int64, multiplier m: Int64, shift n: Int64, zeroPoint z: Int64) -> Int8 {
    sat8(z + roundingShift(acc * m, n))
}
