/// Element type of a stored tensor. The raw values are the file's `dtype` codes.
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case int8 = 0
    case uint8 = 1
    case int16 = 2
    case int32 = 3
    case float32 = 4
    case int64 = 5

    public var elementSize: Int {
        switch self {
        case .int8, .uint8: 1
        case .int16: 2
        case .int32, .float32: 4
        case .int64: 8
        }
    }

    public var description: String {
        switch self {
        case .int8: "i8"
        case .uint8: "u8"
        case .int16: "i16"
        case .int32: "i32"
        case .float32: "f32"
        case .int64: "i64"
        }
    }
}

/// A Swift type whose in-memory layout is exactly one stored dtype, so tensor bytes can be viewed
/// as it without copying.
public protocol ModelFileElement: BitwiseCopyable {
    static var dtype: DType { get }
}

extension Int8: ModelFileElement { public static var dtype: DType { .int8 } }
extension UInt8: ModelFileElement { public static var dtype: DType { .uint8 } }
extension Int16: ModelFileElement { public static var dtype: DType { .int16 } }
extension Int32: ModelFileElement { public static var dtype: DType { .int32 } }
extension Float: ModelFileElement { public static var dtype: DType { .float32 } }
extension Int64: ModelFileElement { public static var dtype: DType { .int64 } }
