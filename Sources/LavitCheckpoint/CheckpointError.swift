/// Why a checkpoint could not be loaded. The description is always one line that starts with the
/// file and names the field, entry or tensor at fault, so it can go straight into a log.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// Coarse cause, for callers and tests that branch on it; `reason` carries the detail.
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be opened or read.
        case io
        /// Neither safetensors nor a torch zip archive.
        case unrecognized
        /// The bytes contradict themselves or the file length (truncated, bad offsets, bad JSON).
        case malformed
        /// Well-formed but outside what lavit reads (dtype, compression, legacy torch format).
        case unsupported
        /// The pickle asks for code that a state dict never needs.
        case forbidden
    }

    public var path: String
    public var kind: Kind
    public var reason: String

    public init(path: String, kind: Kind, reason: String) {
        self.path = oneLine(path)
        self.kind = kind
        self.reason = oneLine(reason)
    }

    public var description: String { "\(path): \(reason)" }
}

/// A parse failure before the file name is known; `Checkpoint` attaches the path.
struct ParseFailure: Error {
    var kind: CheckpointError.Kind
    var reason: String

    static func malformed(_ reason: String) -> ParseFailure { ParseFailure(kind: .malformed, reason: reason) }
    static func unsupported(_ reason: String) -> ParseFailure { ParseFailure(kind: .unsupported, reason: reason) }
}

/// Text from a file, made safe to embed in a one-line message: quoted, control characters escaped,
/// and cut short so a hostile 100 MB name cannot flood a log.
func quoted(_ text: String, limit: Int = 120) -> String {
    var out = "'"
    for (i, scalar) in text.unicodeScalars.enumerated() {
        if i == limit {
            out += "..."
            break
        }
        if isControl(scalar) || scalar == "'" || scalar == "\\" {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out + "'"
}

private func oneLine(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? " " : $0 }))
}

/// C0 and C1 controls and the Unicode line and paragraph separators: anything a terminal or log
/// viewer might take as the end of a line.
private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
}
