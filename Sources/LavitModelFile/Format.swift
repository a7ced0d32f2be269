/// Layout constants of the lavit model file, version 1. `Tools/MODELFILE.md` is the specification;
/// these numbers must match it and `Tools/lavit_ref/modelfile.py`.
enum Format {
    static let magic: [UInt8] = Array("LAVITQ8\0".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64
    /// Tensor data and the data section start on this boundary so that kernels can use aligned
    /// SIMD loads straight from the loaded file.
    static let alignment = 64
    static let maxNameLength = 255
    static let maxRank = 8
    /// The smallest table record: a one-byte name and rank 0.
    static let minRecordSize = 2 + 1 + 1 + 1 + 8 + 8

    /// Byte offsets of the header fields.
    enum Field {
        static let version = 8
        static let flags = 12
        static let fileSize = 16
        static let metadataOffset = 24
        static let metadataSize = 32
        static let tableOffset = 40
        static let tensorCount = 48
        static let checksum = 52
        static let dataOffset = 56
    }
}

#if _endian(big)
#error("the model file is little-endian and its tensors are used in place; big-endian hosts are not supported")
#endif
