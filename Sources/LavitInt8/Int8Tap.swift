import LavitModel

/// A tap's shape, of rank 1 to 3, stored inline so that describing a tap allocates nothing.
public struct Int8TapShape: Hashable, Sendable, CustomStringConvertible {
    public let rank: Int
    private let d0: Int
    private let d1: Int
    private let d2: Int

    public init(_ d0: Int) { (rank, self.d0, d1, d2) = (1, d0, 1, 1) }
    public init(_ d0: Int, _ d1: Int) { (rank, self.d0, self.d1, d2) = (2, d0, d1, 1) }
    public init(_ d0: Int, _ d1: Int, _ d2: Int) { (rank, self.d0, self.d1, self.d2) = (3, d0, d1, d2) }

    public var dims: [Int] { Array([d0, d1, d2].prefix(rank)) }
    public var elementCount: Int { d0 * d1 * d2 }
    public var description: String { "\(dims)" }
}

/// A tap's values, viewing engine memory: valid only during the observer call.
public enum Int8TapValues {
    case int8(UnsafeBufferPointer<Int8>)
    case int16(UnsafeBufferPointer<Int16>)
    case int32(UnsafeBufferPointer<Int32>)
}

public struct Int8Tap {
    public let id: TapPoint
    public let shape: Int8TapShape
    public let values: Int8TapValues

    public init(id: TapPoint, shape: Int8TapShape, values: Int8TapValues) {
        self.id = id
        self.shape = shape
        self.values = values
    }

    /// The values widened to Int, for tests and reports (allocates).
    public var integers: [Int] {
        switch values {
        case .int8(let b): b.map(Int.init)
        case .int16(let b): b.map(Int.init)
        case .int32(let b): b.map(Int.init)
        }
    }
}
