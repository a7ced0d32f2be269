/// Why a set of named tensors cannot be bound to a config. A mismatch lists every offending
/// tensor at once, so one run shows everything wrong with a checkpoint.
public enum WeightsError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct ShapeMismatch: Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var expected: [Int]

        public init(name: String, shape: [Int], expected: [Int]) {
            self.name = name
            self.shape = shape
            self.expected = expected
        }
    }

    case invalidConfig(name: String, ConfigError)
    case mismatch(config: String, missing: [String], unexpected: [String], misShaped: [ShapeMismatch])

    /// Names listed per kind of problem before the rest are only counted.
    static let listed = 4

    public var description: String {
        switch self {
        case .invalidConfig(let name, let error):
            return "config '\(name)' is invalid: \(error)"
        case .mismatch(let config, let missing, let unexpected, let misShaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing " + Self.list(missing)) }
            if !unexpected.isEmpty { parts.append("unexpected " + Self.list(unexpected)) }
            parts += misShaped.prefix(Self.listed).map {
                "shape of \($0.name) is \($0.shape), expected \($0.expected)"
            }
            if misShaped.count > Self.listed {
                parts.append("and \(misShaped.count - Self.listed) more mis-shaped")
            }
            return "checkpoint does not match config '\(config)': " + parts.joined(separator: "; ")
        }
    }

    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(listed).joined(separator: ", ")
        return names.count > listed ? "\(shown) and \(names.count - listed) more" : shown
    }
}
