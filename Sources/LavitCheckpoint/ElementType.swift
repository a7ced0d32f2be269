/// Element types a checkpoint may store, named as safetensors names them; every one widens to
/// Float so the rest of lavit sees a single representation.
enum ElementType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f64 = "F64"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    var byteCount: Int {
        switch self {
        case .f64, .i64: 8
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .i8, .u8, .bool: 1
        }
    }

    /// Little-endian elements to Float. The caller has checked `raw.count` against the element
    /// count; a ragged tail would be a programmer error.
    func widen(_ raw: UnsafeRawBufferPointer) -> [Float] {
        precondition(raw.count % byteCount == 0, "\(raw.count) bytes is not a whole number of \(rawValue)")
        let count = raw.count / byteCount
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                let at = i * byteCount
                out[i] =
                    switch self {
                    case .f32:
                        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                    case .f16:
                        Float(float16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                    case .bf16:
                        Float(
                            bfloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                    case .f64:
                        Float(
                            Double(
                                bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                            ))
                    case .i64: Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)))
                    case .i32: Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                    case .i16: Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                    case .i8: Float(raw.load(fromByteOffset: at, as: Int8.self))
                    case .u8: Float(raw[at])
                    case .bool: raw[at] == 0 ? 0 : 1
                    }
            }
            initialized = count
        }
    }
}
