import FoundationEssentials
import LavitChecksum
import LavitModel
import LavitModelFile
import LavitSystem

public enum CheckpointFormat: String, Sendable {
    case safetensors
    case torchZip
}

/// A float checkpoint as named Float32 tensors. Loading trusts nothing in the file: sizes, offsets
/// and counts are checked against its length, and a torch pickle may only rebuild tensors.
public struct Checkpoint: Sendable {
    public var format: CheckpointFormat
    /// Keyed by parameter name, with any `model`/`state_dict` wrapper and `module.` prefix removed.
    public var tensors: [String: Tensor]
    /// Names in the order the file stores them, for printing.
    public var tensorOrder: [String]
    /// The element type each tensor was stored as (`F32`, `F16`, `BF16`, `F64`, `I64`, ...).
    public var storedDType: [String: String]
    /// The architecture recorded with the weights, when the file has one that decodes.
    public var config: Config?
    /// Why a recorded config did not decode (one line); nil when there is none or it decoded.
    public var configError: String?
    /// Hex SHA-256 of the file's bytes, which derived model files record as their source.
    public var sha256: String

    /// Reads and parses `path`; the format comes from the magic bytes, not the extension.
    public static func load(path: String) throws(CheckpointError) -> Checkpoint {
        try decode(readCheckpointFile(path), name: path)
    }

    /// Parses checkpoint bytes already in memory; `name` is what error messages call the file.
    public static func decode(_ bytes: [UInt8], name: String) throws(CheckpointError) -> Checkpoint {
        do {
            let format = try detectFormat(bytes)
            let raw =
                switch format {
                case .safetensors: try Safetensors.read(bytes)
                case .torchZip: try TorchArchive.read(bytes)
                }
            return try Checkpoint(raw, format: format, sha256: SHA256.hexDigest(bytes))
        } catch {
            throw CheckpointError(path: name, kind: error.kind, reason: error.reason)
        }
    }

    static let moduleKeyPrefix = "module."

    private init(_ raw: RawCheckpoint, format: CheckpointFormat, sha256: String) throws(ParseFailure) {
        self.format = format
        self.sha256 = sha256
        tensors = [:]
        tensorOrder = []
        storedDType = [:]
        for entry in raw.entries {
            let name =
                entry.name.hasPrefix(Self.moduleKeyPrefix)
                ? String(entry.name.dropFirst(Self.moduleKeyPrefix.count)) : entry.name
            guard tensors[name] == nil else {
                throw .malformed(
                    "tensor \(quoted(name)) appears twice once the \(quoted(Self.moduleKeyPrefix)) prefix is removed")
            }
            tensors[name] = entry.tensor
            tensorOrder.append(name)
            storedDType[name] = entry.storedType.rawValue
        }
        switch raw.config {
        case .absent:
            break
        case .invalid(let why):
            configError = "\(RawCheckpoint.configKey) \(why)"
        case .json(let text):
            do {
                config = try JSONDecoder().decode(Config.self, from: Data(text.utf8))
            } catch {
                let syntax = Array(text.utf8).withUnsafeBytes { jsonObjectProblem($0) }
                configError = "\(RawCheckpoint.configKey): \(syntax.map { "not valid JSON: \($0)" } ?? describeDecodingError(error))"
            }
        }
    }

    /// Magic bytes: a zip local header, a safetensors header whose JSON starts right after its
    /// 8-byte length (tried before the pickle check: that length may well start with 0x80), or
    /// the legacy torch pickle.
    private static func detectFormat(_ bytes: [UInt8]) throws(ParseFailure) -> CheckpointFormat {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return .torchZip
        }
        if bytes.count > 8, bytes[8] == UInt8(ascii: "{") {
            return .safetensors
        }
        if bytes.first == 0x80 {
            let legacyMagic: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
            if bytes.dropFirst(2).starts(with: legacyMagic) {
                throw .unsupported(
                    "legacy (pre-1.6) torch serialization is not supported; "
                        + "re-save it in the zip format with torch.save(obj, path) from torch >= 1.6")
            }
            throw ParseFailure(
                kind: .unrecognized, reason: "a bare pickle, not a torch zip checkpoint or safetensors file")
        }
        let head = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
        throw ParseFailure(
            kind: .unrecognized, reason: "not a safetensors file or torch zip checkpoint (starts with [\(head)])")
    }
}

/// Checkpoints are read whole; LaViT-B in float32 is under 400 MB, so 4 GiB is far above any
/// model lavit defines and below what would exhaust a small device.
let checkpointByteLimit = 4 << 30

func readCheckpointFile(_ path: String) throws(CheckpointError) -> [UInt8] {
    do throws(FileReadError) {
        return try System.live.readFile(path, limit: checkpointByteLimit)
    } catch {
        throw CheckpointError(path: path, kind: .io, reason: error.description)
    }
}
