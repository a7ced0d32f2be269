/// `floor(sqrt(x))`, exact for every `x >= 0`, by the digit-by-digit method: integers only, so it
/// cannot disagree with Python's `math.isqrt` the way a float estimate could near perfect squares.
@inlinable
public func isqrt(_ x: Int64) -> Int64 {
    precondition(x >= 0, "isqrt of a negative number")
    var rest = UInt64(x)
    var root: UInt64 = 0
    var bit: UInt64 = 1 << 62
    while bit > rest { bit >>= 2 }
    while bit != 0 {
        if rest >= root + bit {
            rest -= root + bit
            root = (root >> 1) + bit
        } else {
            root >>= 1
        }
        bit >>= 2
    }
    return Int64(root)
}
