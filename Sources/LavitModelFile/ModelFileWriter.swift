import LavitSystem
import LavitText
import LavitChecksum
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// Builds a model file: metadata first, then the table, then each tensor's data in the order
/// added, every tensor on a 64-byte boundary. `Tools/lavit_ref/modelfile.py` lays files out the
/// same way, so both writers give identical bytes for identical input.
public struct ModelFileWriter: Sendable {
    public let metadataJSON: [UInt8]
    private var records: [(entry: TensorEntry, bytes: [UInt8])] = []
    private var dataSize = 0

    /// Errors from building name this writer as their source; errors from `write(path:)` the path.
    static let source = "ModelFileWriter"

    private static func fail(_ reason: ModelFileError.Reason) -> ModelFileError {
        ModelFileError(source: source, reason: reason)
    }

    /// `metadataJSON` must be the UTF-8 text of one JSON object.
    public init(metadataJSON: [UInt8]) throws(ModelFileError) {
        if let problem = metadataJSON.withUnsafeBytes({ jsonObjectProblem($0) }) {
            throw Self.fail(.metadataNotJSONObject(detail: problem))
        }
        self.metadataJSON = metadataJSON
    }

    /// Encodes `metadata` with sorted keys, so the same metadata always gives the same file.
    public init(metadata: some Encodable) throws(ModelFileError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: Data
        do { json = try encoder.encode(metadata) } catch {
            throw Self.fail(.metadataNotJSONObject(detail: decodingErrorLine(error)))
        }
        try self.init(metadataJSON: Array(json))
    }

    public mutating func add(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws(ModelFileError) {
        let index = records.count
        let nameLength = name.utf8.count
        guard (1...Format.maxNameLength).contains(nameLength) else {
            throw Self.fail(.badNameLength(index: index, length: nameLength))
        }
        if let first = records.firstIndex(where: { $0.entry.name == name }) {
            throw Self.fail(.duplicateName(name, firstIndex: first, index: index))
        }
        guard shape.count <= Format.maxRank else { throw Self.fail(.rankTooLarge(tensor: name, rank: shape.count)) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw Self.fail(.negativeDimension(tensor: name, shape: shape)) }
        let dims = shape.map { UInt64($0) }
        var expected: Int? = dtype.elementSize
        for dim in shape {
            guard let total = expected else { break }
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            expected = overflow ? nil : product
        }
        guard let expected else { throw Self.fail(.shapeTooLarge(tensor: name, shape: dims, dtype: dtype)) }
        guard bytes.count == expected else {
            throw Self.fail(.byteCountMismatch(
                tensor: name, byteCount: UInt64(bytes.count), expected: UInt64(expected), shape: dims, dtype: dtype))
        }
        let offset = alignUp(dataSize)
        records.append((TensorEntry(name: name, dtype: dtype, shape: shape, byteCount: bytes.count, offset: offset), bytes))
        dataSize = offset + bytes.count
    }

    public mutating func add<T: ModelFileElement>(name: String, shape: [Int], values: [T]) throws(ModelFileError) {
        try add(name: name, dtype: T.dtype, shape: shape, bytes: values.withUnsafeBytes { Array($0) })
    }

    public func serialize() -> [UInt8] {
        var table: [UInt8] = []
        for (entry, _) in records {
            append(UInt16(entry.name.utf8.count), to: &table)
            table += entry.name.utf8
            table += [entry.dtype.rawValue, UInt8(entry.shape.count)]
            for dim in entry.shape { append(UInt64(dim), to: &table) }
            append(UInt64(entry.offset), to: &table)
            append(UInt64(entry.byteCount), to: &table)
        }
        let metadataOffset = Format.headerSize
        let tableOffset = metadataOffset + metadataJSON.count
        let dataOffset = alignUp(tableOffset + table.count)
        let fileSize = dataOffset + dataSize

        var file = Format.magic
        append(Format.version, to: &file)
        append(UInt32(0), to: &file)
        append(UInt64(fileSize), to: &file)
        append(UInt64(metadataOffset), to: &file)
        append(UInt64(metadataJSON.count), to: &file)
        append(UInt64(tableOffset), to: &file)
        append(UInt32(records.count), to: &file)
        append(UInt32(0), to: &file)
        append(UInt64(dataOffset), to: &file)
        file += metadataJSON
        file += table
        file.reserveCapacity(fileSize)
        for (entry, bytes) in records {
            file += repeatElement(0, count: dataOffset + entry.offset - file.count)
            file += bytes
        }
        file += repeatElement(0, count: fileSize - file.count)
        let checksum = file.withUnsafeBytes { CRC32.fileChecksum($0) }
        withUnsafeBytes(of: checksum.littleEndian) {
            file.replaceSubrange(Format.Field.checksum..<Format.Field.checksum + 4, with: $0)
        }
        return file
    }

    /// Writes the file so that `path` holds either its old contents or the complete new file, never
    /// a torn one: a temporary file beside it, fsync, rename, then fsync of the directory.
    public func write(path: String) throws(ModelFileError) {
        let bytes = serialize()
        do throws(Errno) {
            try System.live.writeFileAtomically(path, bytes)
        } catch {
            throw ModelFileError(source: path, reason: .system(call: error.call, errno: error.code))
        }
    }
}

private func alignUp(_ value: Int) -> Int {
    (value + Format.alignment - 1) / Format.alignment * Format.alignment
}

private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}
