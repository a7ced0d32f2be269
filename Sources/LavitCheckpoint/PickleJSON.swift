/// A pickled plain value (dict with str keys, list, tuple, str, int, float, bool, None) as JSON
/// text, so a config stored in a .pth decodes through the same `Codable` path as one stored in
/// safetensors metadata.
enum PickleJSON {
    static let maxDepth = 16

    static func text(_ value: PickleValue, heap: PickleHeap, depth: Int = 0) throws(ParseFailure) -> String {
        guard depth < maxDepth else { throw .malformed("nested deeper than \(maxDepth) levels") }
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d):
            guard d.isFinite else { throw .malformed("holds \(d), which JSON cannot represent") }
            return "\(d)"
        case .string(let s): return string(s)
        case .list(let index): return try array(heap.lists[index], heap: heap, depth: depth)
        case .tuple(let index): return try array(heap.tuples[index], heap: heap, depth: depth)
        case .dict(let index):
            let dict = heap.dicts[index]
            var members = [String]()
            for (key, item) in zip(dict.keys, dict.values) {
                guard case .string(let name) = key else {
                    throw .malformed("has a \(key.typeName) key; JSON keys are strings")
                }
                members.append(string(name) + ":" + (try text(item, heap: heap, depth: depth + 1)))
            }
            return "{" + members.joined(separator: ",") + "}"
        case .global, .storage, .tensor:
            throw .malformed("holds a \(value.typeName), which is not plain data")
        }
    }

    private static func array(_ items: [PickleValue], heap: PickleHeap, depth: Int) throws(ParseFailure) -> String {
        var parts = [String]()
        for item in items { parts.append(try text(item, heap: heap, depth: depth + 1)) }
        return "[" + parts.joined(separator: ",") + "]"
    }

    private static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
