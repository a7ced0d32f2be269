/// A command line a client sent, parsed. Client bytes are untrusted: parsing never traps and
/// reports anything it does not understand as a `CommandError` the client gets back.
public enum ClientCommand: Sendable, Equatable {
    /// `?status`: reply with a status object now.
    case status
    /// `?hello`: send the hello again.
    case hello
    /// `?ping`: reply `{"class":"pong"}`, so a client can check the daemon is alive.
    case ping
    /// `?top=K`: this client's results carry K labels.
    case top(Int)
    /// `?rate=R`: at most R results per second, given in thousandths; 0 means every result.
    case rate(milliHertz: Int)

    /// Most results per second `?rate=` accepts: above the camera's rate it means "all".
    public static let maximumRate = 1000

    /// Parses one line without its newline; a trailing carriage return (telnet, `socat -,crlf`)
    /// is ignored. `maxTopK` bounds `?top=`.
    public static func parse<C: BidirectionalCollection<UInt8>>(_ line: C, maxTopK: Int) -> Result<ClientCommand, CommandError> {
        var bytes = line[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if bytes.elementsEqual("?status".utf8) { return .success(.status) }
        if bytes.elementsEqual("?hello".utf8) { return .success(.hello) }
        if bytes.elementsEqual("?ping".utf8) { return .success(.ping) }
        if let argument = Self.argument(of: "?top=", in: bytes) {
            guard let k = Self.integer(argument), k >= 1, k <= maxTopK else { return .failure(.badArgument(.top, maximum: maxTopK)) }
            return .success(.top(k))
        }
        if let argument = Self.argument(of: "?rate=", in: bytes) {
            guard let milli = Self.milli(argument), milli <= maximumRate * 1000 else {
                return .failure(.badArgument(.rate, maximum: maximumRate))
            }
            return .success(.rate(milliHertz: milli))
        }
        return .failure(.unknown)
    }

    private static func argument<C: Collection<UInt8>>(of prefix: StaticString, in bytes: C) -> C.SubSequence? {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return nil }
        let matches = prefix.withUTF8Buffer { bytes.prefix(count).elementsEqual($0) }
        return matches ? bytes.dropFirst(count) : nil
    }

    /// A plain decimal integer of at most 9 digits, or nil.
    static func integer<C: Collection<UInt8>>(_ digits: C) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    /// A non-negative decimal with up to three fraction digits, in thousandths: "2.5" is 2500.
    static func milli<C: Collection<UInt8>>(_ text: C) -> Int? {
        let point = text.firstIndex(of: UInt8(ascii: "."))
        guard let whole = integer(text[..<(point ?? text.endIndex)]) else { return nil }
        var fraction = 0
        if let point {
            let digits = text[text.index(after: point)...]
            guard digits.count <= 3, let value = integer(digits) else { return nil }
            fraction = value
            for _ in digits.count..<3 { fraction *= 10 }
        }
        return whole * 1000 + fraction
    }
}

/// Why a client's line was refused; `JSONWriter.error` words it for the client.
public enum CommandError: Error, Sendable, Equatable {
    public enum Name: Sendable { case top, rate }

    case unknown
    case badArgument(Name, maximum: Int)
    case tooLong(limit: Int)
}
