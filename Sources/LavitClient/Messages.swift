import FoundationEssentials

/// The daemon's objects as the client reads them. Every field the client does not need to tell
/// objects apart is optional, so a daemon that adds or omits fields does not break it.
struct Envelope: Decodable {
    var `class`: String
}

public struct HelloMessage: Decodable, Sendable, Equatable {
    public struct Input: Decodable, Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var channels: Int
    }
    public var `protocol`: Int?
    public var model: String?
    public var model_sha256: String?
    public var labels: [String]?
    public var input: Input?
    public var device: String?
}

public struct ResultMessage: Decodable, Sendable, Equatable {
    public struct Entry: Decodable, Sendable, Equatable {
        public var label: String?
        public var index: Int?
        public var score: Double?

        public init(label: String?, index: Int?, score: Double?) {
            self.label = label
            self.index = index
            self.score = score
        }
    }
    public var seq: UInt64?
    public var mono_ns: UInt64?
    public var time: String?
    public var top: [Entry]?
    public var dropped: UInt64?
    /// The image file, when lavitd reads files instead of a camera.
    public var file: String?

    public init(
        seq: UInt64? = nil, mono_ns: UInt64? = nil, time: String? = nil, top: [Entry]? = nil, dropped: UInt64? = nil,
        file: String? = nil
    ) {
        self.file = file
        self.seq = seq
        self.mono_ns = mono_ns
        self.time = time
        self.top = top
        self.dropped = dropped
    }
}

public struct StatusMessage: Decodable, Sendable, Equatable {
    public struct Latency: Decodable, Sendable, Equatable {
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
    }
    public var device: String?
    public var online: Bool?
    public var reason: String?
    public var fps: Double?
    public var frames: UInt64?
    public var skipped: UInt64?
    public var corrupt: UInt64?
    public var reopens: UInt64?
    public var latency_ms: Latency?
    public var clients: Int?
}

public struct ErrorMessage: Decodable, Sendable, Equatable {
    public var message: String?
}

/// One line from the daemon, decoded by its class.
public enum DaemonMessage: Sendable, Equatable {
    case hello(HelloMessage)
    case result(ResultMessage)
    case status(StatusMessage)
    case error(ErrorMessage)
    /// A class this client does not know (a newer daemon): skipped, as the protocol intends.
    case other(String)

    /// Decodes one line; nil when it is not a JSON object with a string `class`.
    public static func decode(_ line: [UInt8]) -> DaemonMessage? {
        let decoder = JSONDecoder()
        let data = Data(line)
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else { return nil }
        switch envelope.class {
        case "hello": return (try? decoder.decode(HelloMessage.self, from: data)).map { .hello($0) }
        case "result": return (try? decoder.decode(ResultMessage.self, from: data)).map { .result($0) }
        case "status": return (try? decoder.decode(StatusMessage.self, from: data)).map { .status($0) }
        case "error": return (try? decoder.decode(ErrorMessage.self, from: data)).map { .error($0) }
        default: return .other(envelope.class)
        }
    }
}
