extension Array where Element == UInt8 {
    /// A little-endian integer at `offset` that fails, naming `field`, where a trusted reader would
    /// read past the end.
    func littleEndian<T: FixedWidthInteger>(
        _: T.Type, at offset: Int, _ field: @autoclosure () -> String
    ) throws(ParseFailure) -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else {
            throw .malformed("\(field()) at offset \(offset) runs past the end of the data (\(count) bytes)")
        }
        var value: T = 0
        for i in 0..<size {
            value |= T(truncatingIfNeeded: self[offset + i]) << (8 * i)
        }
        return value
    }
}

/// `a + b` or `a * b` for sizes read from a file, where overflow means the file lies.
func checkedAdd(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(ParseFailure) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    if overflow { throw .malformed("\(what()) overflows") }
    return sum
}

func checkedMultiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(ParseFailure) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    if overflow { throw .malformed("\(what()) overflows") }
    return product
}

/// Product of dimensions read from a file: each >= 0, the product not overflowing.
func elementCount(_ shape: [Int], _ what: @autoclosure () -> String) throws(ParseFailure) -> Int {
    var count = 1
    for dim in shape {
        guard dim >= 0 else { throw .malformed("\(what()) has negative dimension \(dim) in shape \(shape)") }
        count = try checkedMultiply(count, dim, "\(what()) element count for shape \(shape)")
    }
    return count
}
