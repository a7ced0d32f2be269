import FoundationEssentials
import LavitModel
import LavitModelFile

/// safetensors: u64 header length, a JSON header naming each tensor's dtype, shape and byte
/// range in the data section that follows, and an optional string map `__metadata__`.
enum Safetensors {
    /// Entries a header may list: every parameter of the largest config lavit accepts, twice over
    /// (a training checkpoint may carry an EMA copy). More is a file making work, not a model.
    static let maxTensors = 2 * Config.Limits.parameterTensors
    /// 256 bytes per entry is room for a long name, dtype, a 4-d shape and two 64-bit offsets.
    static let maxHeaderLength = maxTensors * 256
    static let allowedTypes: [ElementType] = [.f32, .f16, .bf16, .f64]

    static func read(_ bytes: [UInt8]) throws(ParseFailure) -> RawCheckpoint {
        let declared = try bytes.littleEndian(UInt64.self, at: 0, "safetensors header length")
        guard declared <= UInt64(maxHeaderLength) else {
            throw .malformed("safetensors header length \(declared) exceeds the \(maxHeaderLength)-byte limit")
        }
        guard declared <= UInt64(bytes.count - 8) else {
            throw .malformed("safetensors header length \(declared) is larger than the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + Int(declared)
        let dataLength = bytes.count - dataStart

        // Tensors plus `__metadata__`, counted before the decoder does any work per entry.
        let allowedMembers = maxTensors + 1
        let members = bytes.withUnsafeBytes { raw in
            topLevelMemberCount(UnsafeRawBufferPointer(rebasing: raw[8..<dataStart]), stopAfter: allowedMembers + 1)
        }
        guard members <= allowedMembers else {
            throw .malformed("safetensors header lists more than \(maxTensors) tensors, more than any model lavit defines")
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[8..<dataStart]))
        } catch {
            // JSONDecoder says only "not valid JSON"; the strict checker says where.
            let syntax = bytes.withUnsafeBytes { jsonObjectProblem(UnsafeRawBufferPointer(rebasing: $0[8..<dataStart])) }
            throw .malformed("safetensors header: \(syntax.map { "not valid JSON: \($0) of the header" } ?? describeDecodingError(error))")
        }

        guard header.tensors.count <= maxTensors else {
            throw .malformed("safetensors header lists \(header.tensors.count) tensors, more than any model lavit defines (\(maxTensors))")
        }
        var entries = [RawCheckpoint.Entry]()
        for (name, info) in header.tensors.sorted(by: { ($0.info.begin, $0.name) < ($1.info.begin, $1.name) }) {
            let what = "tensor \(quoted(name))"
            guard let type = ElementType(rawValue: info.dtype), allowedTypes.contains(type) else {
                let allowed = allowedTypes.map(\.rawValue).joined(separator: ", ")
                throw .unsupported("\(what) has dtype \(quoted(info.dtype)) (allowed: \(allowed))")
            }
            let count = try elementCount(info.shape, what)
            let byteCount = try checkedMultiply(count, type.byteCount, "\(what) byte size")
            guard info.begin >= 0, info.begin <= info.end, info.end <= dataLength else {
                throw .malformed(
                    "\(what) has data_offsets [\(info.begin), \(info.end)], reversed or outside the "
                        + "\(dataLength)-byte data section")
            }
            guard info.end - info.begin == byteCount else {
                throw .malformed(
                    "\(what) has \(info.end - info.begin) bytes but shape \(info.shape) of \(type.rawValue) "
                        + "needs \(byteCount)")
            }
            let data = bytes.withUnsafeBytes { raw in
                type.widen(UnsafeRawBufferPointer(rebasing: raw[(dataStart + info.begin)..<(dataStart + info.end)]))
            }
            entries.append(.init(name: name, tensor: Tensor(shape: info.shape, data: data), storedType: type))
        }
        let config = header.metadata[RawCheckpoint.configKey]
        return RawCheckpoint(entries: entries, config: config.map { .json($0) } ?? .absent)
    }

    /// Members of the outermost JSON object, counted without decoding (so a header of a million
    /// tiny entries costs one pass over its bytes), stopping once `stopAfter` is reached. Malformed
    /// JSON is left for the decoder to report.
    static func topLevelMemberCount(_ text: UnsafeRawBufferPointer, stopAfter limit: Int) -> Int {
        var depth = 0
        var inString = false
        var escaped = false
        var members = 0
        var sawValue = false
        for byte in text {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1 && !sawValue {
                    sawValue = true
                    members += 1
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { sawValue = false }
            default: break
            }
            if members >= limit { return members }
        }
        return members
    }

    struct TensorInfo: Decodable {
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try c.decode(String.self, forKey: .dtype)
            shape = try c.decode([Int].self, forKey: .shape)
            let offsets = try c.decode([Int].self, forKey: .dataOffsets)
            guard offsets.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .dataOffsets, in: c, debugDescription: "expected [begin, end]")
            }
            (begin, end) = (offsets[0], offsets[1])
        }
    }

    /// The header object: every key is a tensor except `__metadata__`, a string-to-string map.
    struct Header: Decodable {
        var tensors: [(name: String, info: TensorInfo)] = []
        var metadata: [String: String] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    tensors.append((key.stringValue, try c.decode(TensorInfo.self, forKey: key)))
                }
            }
        }
    }
}

/// A `DecodingError` as one short line naming the JSON path, instead of its multi-line dump.
func describeDecodingError(_ error: any Error) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let parts = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return parts.isEmpty ? "top level" : quoted(parts.joined(separator: "."))
    }
    switch error as? DecodingError {
    case .keyNotFound(let key, let context)?:
        return "missing key \(quoted(key.stringValue)) at \(path(context))"
    case .typeMismatch(let type, let context)?:
        return "wrong type at \(path(context)) (expected \(type))"
    case .valueNotFound(let type, let context)?:
        return "null at \(path(context)) (expected \(type))"
    case .dataCorrupted(let context)?:
        let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
        return "invalid at \(path(context)): \(detail.prefix(200))"
    default:
        return "\(error)".prefix(200).description
    }
}
