/// One tensor of a model file, as its table record describes it (already validated).
public struct TensorEntry: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var byteCount: Int
    /// Offset from the start of the data section; a multiple of 64.
    public var offset: Int

    public var elementCount: Int { byteCount / dtype.elementSize }
}
