import FoundationEssentials
import LavitModelFile
import Testing

/// Re-writes a model file with one change, for the error tests: a tensor dropped or replaced, or the
/// metadata edited.
enum ModelRewriter {
    struct Replacement {
        var dtype: DType
        var shape: [Int]
        var bytes: [UInt8]
    }

    static func rewrite(
        _ file: ModelFile, dropping dropped: String? = nil, replacing replaced: [String: Replacement] = [:],
        metadata edit: ((inout [String: JSONValue]) -> Void)? = nil
    ) throws -> ModelFile {
        var metadataJSON = file.metadataJSON
        if let edit {
            guard case .object(var object) = try JSONDecoder().decode(JSONValue.self, from: Data(metadataJSON)) else {
                throw RewriteError(detail: "metadata is not an object")
            }
            edit(&object)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            metadataJSON = Array(try encoder.encode(JSONValue.object(object)))
        }
        var writer = try ModelFileWriter(metadataJSON: metadataJSON)
        for entry in file.tensors where entry.name != dropped {
            if let r = replaced[entry.name] {
                try writer.add(name: entry.name, dtype: r.dtype, shape: r.shape, bytes: r.bytes)
            } else {
                try writer.add(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: Array(try file.rawBytes(entry.name)))
            }
        }
        return try ModelFile.parse(bytes: writer.serialize(), source: file.source)
    }

    /// `name` with its elements changed by `change`, same dtype and shape.
    static func edited<T: ModelFileElement>(
        _ file: ModelFile, _ name: String, as type: T.Type, _ change: (inout [T]) -> Void
    ) throws -> [String: Replacement] {
        let entry = try #require(file.tensor(named: name))
        var values = Array(try file.elements(name, as: T.self))
        change(&values)
        return [name: Replacement(dtype: entry.dtype, shape: entry.shape, bytes: values.withUnsafeBytes { Array($0) })]
    }

    struct RewriteError: Error { var detail: String }
}

/// Any JSON document, enough to edit metadata and write it back. Integers stay integers.
enum JSONValue: Codable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .integer(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .object(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .integer(let v): try c.encode(v)
        case .number(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }
}
