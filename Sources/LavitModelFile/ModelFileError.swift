#if canImport(Glibc)
import Glibc
#endif

/// Why a model file could not be read, written or used. Prints as one line that starts with the
/// file and names the field and the values at fault.
public struct ModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file path, or the label given to `ModelFile.parse(bytes:source:)`.
    public var source: String
    public var reason: Reason

    public init(source: String, reason: Reason) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }

    /// A byte range of the file, named, so overlap errors can show both sides.
    public struct Span: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var start: UInt64
        public var end: UInt64

        public var description: String { "\(name) [\(start), \(end))" }
    }

    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        case system(call: String, errno: Int32)
        /// A FIFO, device or directory where a model file was expected.
        case notRegularFile(String)
        case outOfMemory(byteCount: Int)
        case shorterThanHeader(size: Int)
        case badMagic(found: [UInt8], looksLike: String?)
        case unsupportedVersion(UInt32)
        case unknownFlags(UInt32)
        case fileSizeMismatch(header: UInt64, actual: Int)
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case misalignedDataOffset(UInt64)
        case sectionStartsInHeader(section: String, offset: UInt64)
        case sectionOverflow(section: String, offset: UInt64, size: UInt64)
        case sectionPastEnd(section: String, offset: UInt64, size: UInt64, fileSize: UInt64)
        case sectionsOverlap(Span, Span)
        case metadataNotUTF8(byteOffset: Int)
        case metadataNotJSONObject(detail: String)
        case tensorCountTooLarge(count: UInt32, tableRoom: UInt64)
        case tableTruncated(index: Int, field: String, position: Int, fileSize: Int)
        case badNameLength(index: Int, length: Int)
        case nameNotUTF8(index: Int, byteOffset: Int)
        case duplicateName(String, firstIndex: Int, index: Int)
        case unknownDType(tensor: String, code: UInt8)
        case rankTooLarge(tensor: String, rank: Int)
        case shapeTooLarge(tensor: String, shape: [UInt64], dtype: DType)
        case negativeDimension(tensor: String, shape: [Int])
        case byteCountMismatch(tensor: String, byteCount: UInt64, expected: UInt64, shape: [UInt64], dtype: DType)
        case misalignedTensor(tensor: String, offset: UInt64)
        case tensorPastEnd(tensor: String, offset: UInt64, byteCount: UInt64, dataSize: UInt64)
        case tensorsOverlap(Span, Span)
        case nonzeroPadding(offset: UInt64, value: UInt8)
        case noSuchTensor(String)
        case dtypeMismatch(tensor: String, stored: DType, requested: DType)
        case metadataDecoding(type: String, detail: String)

        public var description: String {
            switch self {
            case let .notRegularFile(kind):
                "not a regular file (\(kind))"
            case let .system(call, errno):
                "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
            case let .outOfMemory(byteCount):
                "cannot allocate \(byteCount) bytes to hold the file"
            case let .shorterThanHeader(size):
                "file is \(size) bytes, shorter than the \(Format.headerSize)-byte header"
            case let .badMagic(found, looksLike):
                "bad magic \(hex(found)) (expected \(hex(Format.magic)), "
                    + (looksLike.map { "this looks like \($0))" } ?? "not a lavit model file)")
            case let .unsupportedVersion(version):
                version == 0
                    ? "version 0 is not a valid version"
                    : "version \(version) is newer than this reader supports (\(Format.version))"
            case let .unknownFlags(flags):
                "unknown flags 0x\(String(flags, radix: 16)) (this reader knows none)"
            case let .fileSizeMismatch(header, actual):
                "file_size field says \(header) bytes but the file has \(actual) "
                    + (UInt64(actual) < header ? "(truncated)" : "(extended: trailing bytes)")
            case let .checksumMismatch(stored, computed):
                "checksum mismatch: header says 0x\(hex32(stored)), contents give 0x\(hex32(computed)) (corrupted)"
            case let .misalignedDataOffset(offset):
                "data_offset \(offset) is not a multiple of \(Format.alignment)"
            case let .sectionStartsInHeader(section, offset):
                "\(section) offset \(offset) lies inside the \(Format.headerSize)-byte header"
            case let .sectionOverflow(section, offset, size):
                "\(section) offset \(offset) + \(size) bytes overflows 64 bits"
            case let .sectionPastEnd(section, offset, size, fileSize):
                "\(section) offset \(offset) + \(size) bytes runs past the end of the file (\(fileSize) bytes)"
            case let .sectionsOverlap(a, b):
                "\(a) overlaps \(b)"
            case let .metadataNotUTF8(byteOffset):
                "metadata is not valid UTF-8 (first bad byte at metadata offset \(byteOffset))"
            case let .metadataNotJSONObject(detail):
                "metadata is not a JSON object: \(detail)"
            case let .tensorCountTooLarge(count, tableRoom):
                "tensor_count \(count) needs at least \(UInt64(count) * UInt64(Format.minRecordSize)) table bytes "
                    + "but only \(tableRoom) lie between table_offset and the end of the file"
            case let .tableTruncated(index, field, position, fileSize):
                "tensor #\(index): \(field) at byte \(position) runs past the end of the file (\(fileSize) bytes)"
            case let .badNameLength(index, length):
                "tensor #\(index): name_len \(length) is outside 1...\(Format.maxNameLength)"
            case let .nameNotUTF8(index, byteOffset):
                "tensor #\(index): name is not valid UTF-8 (first bad byte at name offset \(byteOffset))"
            case let .duplicateName(name, firstIndex, index):
                "tensor #\(index): name '\(name)' is already used by tensor #\(firstIndex)"
            case let .unknownDType(tensor, code):
                "tensor '\(tensor)': unknown dtype code \(code) (known: 0...\(DType.allCases.count - 1))"
            case let .rankTooLarge(tensor, rank):
                "tensor '\(tensor)': rank \(rank) exceeds the maximum \(Format.maxRank)"
            case let .shapeTooLarge(tensor, shape, dtype):
                "tensor '\(tensor)': shape \(shape) of \(dtype) overflows the byte count"
            case let .negativeDimension(tensor, shape):
                "tensor '\(tensor)': shape \(shape) has a negative dimension"
            case let .byteCountMismatch(tensor, byteCount, expected, shape, dtype):
                "tensor '\(tensor)': byte_count \(byteCount) does not match shape \(shape) of \(dtype) (\(expected) bytes)"
            case let .misalignedTensor(tensor, offset):
                "tensor '\(tensor)': offset \(offset) is not a multiple of \(Format.alignment)"
            case let .tensorPastEnd(tensor, offset, byteCount, dataSize):
                "tensor '\(tensor)' offset \(offset) + \(byteCount) bytes runs past the data section (\(dataSize) bytes)"
            case let .tensorsOverlap(a, b):
                "\(a) overlaps \(b) (data section offsets)"
            case let .nonzeroPadding(offset, value):
                "padding byte at file offset \(offset) is 0x\(String(value, radix: 16)), must be zero"
            case let .noSuchTensor(name):
                "no tensor named '\(name)'"
            case let .dtypeMismatch(tensor, stored, requested):
                "tensor '\(tensor)' is \(stored), not \(requested)"
            case let .metadataDecoding(type, detail):
                "metadata does not decode as \(type): \(detail)"
            }
        }
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

private func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}
