/// A strict RFC 8259 syntax check of one JSON value, written out because JSONDecoder is lenient
/// (it accepts trailing commas and byte-order marks) and FoundationEssentials has no
/// JSONSerialization. It accepts exactly what Python's `json.loads` accepts, less NaN and
/// Infinity, so the Swift and Python readers agree on every file. Input must be valid UTF-8.
struct JSONSyntax {
    /// Objects and arrays nested deeper are refused so that a hostile document cannot exhaust the stack.
    static let maxDepth = 64

    struct Failure: Error {
        var message: String
    }

    private let text: UnsafeRawBufferPointer
    private var position = 0

    /// Checks that `text` is one JSON object with nothing but whitespace around it.
    static func checkObject(_ text: UnsafeRawBufferPointer) throws(Failure) {
        var parser = JSONSyntax(text: text)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{") else { throw parser.failure("expected '{' to open the top-level object") }
        try parser.value(depth: 1)
        parser.skipWhitespace()
        guard parser.position == text.count else { throw parser.failure("unexpected text after the object") }
    }

    private init(text: UnsafeRawBufferPointer) { self.text = text }

    private var peek: UInt8? { position < text.count ? text[position] : nil }

    /// The byte offset, and line and column (1-based, in bytes) for a person with an editor.
    private func failure(_ message: String) -> Failure {
        var line = 1
        var lineStart = 0
        for i in 0..<min(position, text.count) where text[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return Failure(message: "\(message) at byte \(position) (line \(line), column \(position - lineStart + 1))")
    }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    private mutating func expect(_ c: Character) throws(Failure) {
        guard peek == c.asciiValue else { throw failure("expected '\(c)'") }
        position += 1
    }

    private mutating func value(depth: Int) throws(Failure) {
        skipWhitespace()
        switch peek {
        case UInt8(ascii: "{"): try container(close: "}", depth: depth) { (p) throws(Failure) in
                p.skipWhitespace()
                try p.string()
                p.skipWhitespace()
                try p.expect(":")
                try p.value(depth: depth + 1)
            }
        case UInt8(ascii: "["): try container(close: "]", depth: depth) { (p) throws(Failure) in try p.value(depth: depth + 1) }
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case let c? where c == UInt8(ascii: "-") || (0x30...0x39).contains(c): try number()
        default: throw failure(peek == nil ? "unexpected end of text" : "unexpected character")
        }
        skipWhitespace()
    }

    private mutating func container(
        close: Character, depth: Int, _ member: (inout JSONSyntax) throws(Failure) -> Void
    ) throws(Failure) {
        guard depth <= Self.maxDepth else { throw failure("objects and arrays nested deeper than \(Self.maxDepth)") }
        position += 1
        skipWhitespace()
        if peek == close.asciiValue { position += 1; return }
        while true {
            try member(&self)
            skipWhitespace()
            if peek == close.asciiValue { position += 1; return }
            try expect(",")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        for c in word.utf8 {
            guard peek == c else { throw failure("invalid literal") }
            position += 1
        }
    }

    private mutating func digits() throws(Failure) {
        guard let c = peek, (0x30...0x39).contains(c) else { throw failure("expected a digit") }
        while let c = peek, (0x30...0x39).contains(c) { position += 1 }
    }

    private mutating func number() throws(Failure) {
        if peek == UInt8(ascii: "-") { position += 1 }
        if peek == UInt8(ascii: "0") { position += 1 } else { try digits() }
        if peek == UInt8(ascii: ".") { position += 1; try digits() }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            try digits()
        }
    }

    private mutating func string() throws(Failure) {
        try expect("\"")
        while let c = peek {
            position += 1
            switch c {
            case UInt8(ascii: "\""): return
            case UInt8(ascii: "\\"): try escape()
            case ..<0x20: position -= 1; throw failure("control character in a string")
            default: break
            }
        }
        throw failure("unterminated string")
    }

    private mutating func escape() throws(Failure) {
        guard let c = peek else { throw failure("unterminated string") }
        position += 1
        if Array(#""\/bfnrt"#.utf8).contains(c) { return }
        guard c == UInt8(ascii: "u") else { position -= 1; throw failure("invalid escape") }
        for _ in 0..<4 {
            guard let h = peek, isHexDigit(h) else { throw failure("invalid \\u escape") }
            position += 1
        }
    }
}

private func isHexDigit(_ c: UInt8) -> Bool {
    (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
}
