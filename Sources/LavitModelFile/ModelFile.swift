#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import LavitChecksum
import LavitSystem
import LavitText

/// A loaded, fully validated lavit model file: a JSON metadata document and named tensors.
///
/// The whole file sits in one 64-byte-aligned allocation that this value owns and never changes,
/// so tensor data can be used in place by SIMD kernels and shared across threads. Pointers
/// returned by the accessors stay valid while this `ModelFile` (or a copy of it) is alive; the
/// daemon keeps its model for its whole run. Use `withUnsafeBytes(of:_:)` for scoped access.
public struct ModelFile: Sendable {
    /// The container version this reader reads (`Tools/MODELFILE.md`); it refuses any other.
    public static let formatVersion = Int(Format.version)
    /// The path it was loaded from, or the label given to `parse(bytes:source:)`.
    public let source: String
    /// The tensors in table order.
    public let tensors: [TensorEntry]
    private let storage: AlignedBuffer
    private let layout: Layout
    private let index: [String: Int]

    private init(storage: AlignedBuffer, source: String) throws(ModelFileError) {
        let layout = try Validator(file: storage.bytes, source: source).validate()
        self.storage = storage
        self.source = source
        self.layout = layout
        self.tensors = layout.tensors
        self.index = Dictionary(uniqueKeysWithValues: layout.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(ModelFileError) -> ModelFile {
        func fail(_ error: Errno) -> ModelFileError {
            ModelFileError(source: path, reason: .system(call: error.call, errno: error.code))
        }
        let system = System.live
        let (fd, size): (Int32, Int)
        do throws(FileReadError) {
            (fd, size) = try system.openRegularFile(path)
        } catch {
            switch error {
            case let .system(errno): throw fail(errno)
            case let .notRegular(kind): throw ModelFileError(source: path, reason: .notRegularFile(kind))
            case .tooLarge: throw ModelFileError(source: path, reason: .outOfMemory(byteCount: 0))
            }
        }
        defer { system.close(fd) }
        guard let storage = AlignedBuffer(count: size) else {
            throw ModelFileError(source: path, reason: .outOfMemory(byteCount: size))
        }
        let read: Int
        do throws(Errno) {
            read = try system.readFully(fd, into: UnsafeMutableRawBufferPointer(start: storage.base, count: size))
        } catch { throw fail(error) }
        // A file that shrank while being read is validated as what was read: its file_size field
        // then disagrees and says so.
        if read == size { return try ModelFile(storage: storage, source: path) }
        return try parse(bytes: Array(UnsafeRawBufferPointer(start: storage.base, count: read)), source: path)
    }

    /// Validates a model file held in memory (copied into an aligned buffer).
    public static func parse(bytes: [UInt8], source: String = "<memory>") throws(ModelFileError) -> ModelFile {
        guard let storage = AlignedBuffer(count: bytes.count) else {
            throw ModelFileError(source: source, reason: .outOfMemory(byteCount: bytes.count))
        }
        bytes.withUnsafeBytes { raw in raw.baseAddress.map { storage.base.copyMemory(from: $0, byteCount: raw.count) } }
        return try ModelFile(storage: storage, source: source)
    }

    /// Hex SHA-256 of the whole file, as `sha256sum` prints it: which model a daemon runs.
    public var sha256: String { SHA256.hexDigest(Array(storage.bytes)) }

    /// The raw metadata document: UTF-8 text of one JSON object.
    public var metadataJSON: [UInt8] { Array(storage.bytes[layout.metadata]) }

    /// Decodes the metadata document as `T`.
    public func decodeMetadata<T: Decodable>(_ type: T.Type = T.self) throws(ModelFileError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(storage.bytes[layout.metadata]))
        } catch {
            throw ModelFileError(source: source, reason: .metadataDecoding(type: "\(type)", detail: decodingErrorLine(error)))
        }
    }

    public func tensor(named name: String) -> TensorEntry? {
        index[name].map { tensors[$0] }
    }

    /// Calls `body` with the bytes of `tensor`, which must be an entry of this file.
    public func withUnsafeBytes<R, E: Error>(
        of tensor: TensorEntry, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        precondition(index[tensor.name].map { tensors[$0] } == tensor, "tensor '\(tensor.name)' is not from \(source)")
        return try withExtendedLifetime(storage) { () throws(E) -> R in try body(bytes(tensor)) }
    }

    /// The bytes of the tensor `name`, 64-byte aligned; valid while this ModelFile lives.
    public func rawBytes(_ name: String) throws(ModelFileError) -> UnsafeRawBufferPointer {
        bytes(try entry(name))
    }

    /// The elements of the tensor `name` after checking that its dtype is `T`'s; valid while this
    /// ModelFile lives.
    public func elements<T: ModelFileElement>(_ name: String, as type: T.Type = T.self)
        throws(ModelFileError) -> UnsafeBufferPointer<T>
    {
        let entry = try entry(name)
        guard entry.dtype == T.dtype else {
            throw ModelFileError(source: source, reason: .dtypeMismatch(tensor: name, stored: entry.dtype, requested: T.dtype))
        }
        // The data is aligned for every dtype (64-byte buffer, 64-byte offsets) and each tensor's
        // bytes are only ever viewed as their one dtype.
        return bytes(entry).bindMemory(to: T.self)
    }

    public func int8(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<Int8> { try elements(name) }
    public func uint8(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<UInt8> { try elements(name) }
    public func int16(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<Int16> { try elements(name) }
    public func int32(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<Int32> { try elements(name) }
    public func float32(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<Float> { try elements(name) }
    public func int64(_ name: String) throws(ModelFileError) -> UnsafeBufferPointer<Int64> { try elements(name) }

    private func entry(_ name: String) throws(ModelFileError) -> TensorEntry {
        guard let entry = tensor(named: name) else { throw ModelFileError(source: source, reason: .noSuchTensor(name)) }
        return entry
    }

    private func bytes(_ entry: TensorEntry) -> UnsafeRawBufferPointer {
        let start = layout.dataOffset + entry.offset
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + entry.byteCount])
    }
}
