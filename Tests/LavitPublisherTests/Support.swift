#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import LavitPublisher
import LavitSystem
import Synchronization

/// A socket path of its own for each test, short enough for sun_path.
func temporarySocketPath(_ name: String) -> String {
    "/tmp/lavit-test-\(getpid())-\(name).sock"
}

let testModel = ModelInfo(
    name: "lavit-fashion", sha256: "ab12", labels: ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    inputWidth: 28, inputHeight: 28, inputChannels: 1)

/// A prediction whose fields follow from `sequence`, so a receiver can check what it got.
func makePrediction(_ sequence: UInt64, maxTopK: Int = 5) -> Prediction {
    var prediction = Prediction(maxTopK: maxTopK)
    fill(&prediction, sequence)
    return prediction
}

func fill(_ prediction: inout Prediction, _ sequence: UInt64) {
    prediction.sequence = sequence
    prediction.monotonicNanoseconds = System.live.monotonicNanoseconds()
    prediction.wallNanoseconds = 1_796_161_818_123_000_000
    prediction.topCount = min(3, prediction.labelIndices.count)
    for i in 0..<prediction.topCount {
        prediction.labelIndices[i] = (Int(sequence) + i) % 10
        prediction.scores[i] = 0.5 / Double(i + 1)
    }
    prediction.grabNanoseconds = 1_200_000
    prediction.decodeNanoseconds = 2_345_678
    prediction.inferNanoseconds = 10_000_000
}

/// Any object of the protocol; every field optional so one type reads them all.
struct Message: Decodable {
    struct Entry: Decodable {
        var label: String?
        var index: Int
        var score: Double
    }
    var `class`: String
    var seq: UInt64?
    var mono_ns: UInt64?
    var time: String?
    var top: [Entry]?
    var dropped: UInt64?
    var message: String?
    var online: Bool?
    var reason: String?
    var clients: Int?
    var labels: [String]?
    var model: String?
    var `protocol`: Int?
}

func decode(_ line: String) throws -> Message {
    try JSONDecoder().decode(Message.self, from: Data(line.utf8))
}

enum ReadOutcome: Equatable {
    case line(String)
    case endOfFile
    case timedOut
}

/// A blocking test client over a real socket; one thread at a time uses it, hence unchecked.
final class TestClient: @unchecked Sendable {
    let fd: Int32
    private var pending: [UInt8] = []
    private var ended = false

    init(_ path: String) throws {
        // A publisher that detaches this client must not kill the test process on its next write.
        signal(SIGPIPE, SIG_IGN)
        fd = try System.live.connectUnix(path)
    }

    deinit { System.live.close(fd) }

    /// Closes both directions, as a client that exits does; the descriptor is closed at deinit.
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in try System.live.writeFully(fd, buffer) }
    }

    /// The next line, waiting at most `milliseconds` for it.
    func readLine(timeout milliseconds: Int = 3000) -> ReadOutcome {
        let deadline = System.live.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return .line(line)
            }
            if ended { return .endOfFile }
            let now = System.live.monotonicNanoseconds()
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = now >= deadline ? 0 : Int32((deadline - now) / 1_000_000 + 1)
            let ready = withUnsafeMutablePointer(to: &descriptor) {
                try? System.live.poll(UnsafeMutableBufferPointer(start: $0, count: 1), timeoutMilliseconds: wait)
            }
            if ready == nil || ready == 0 {
                if now >= deadline { return .timedOut }
                continue
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { try? System.live.read(fd, into: $0) }
            guard let n, n > 0 else {
                ended = true
                continue
            }
            pending.append(contentsOf: chunk[..<n])
        }
    }

    /// The next message, failing the read if none came.
    func readMessage(timeout milliseconds: Int = 3000) throws -> Message {
        switch readLine(timeout: milliseconds) {
        case let .line(line): return try decode(line)
        case .endOfFile: throw TestFailure("end of file instead of a message")
        case .timedOut: throw TestFailure("no message within \(milliseconds) ms")
        }
    }

    /// Reads messages until one of `type` arrives.
    func readMessage(ofClass type: String, timeout milliseconds: Int = 3000) throws -> Message {
        while true {
            let message = try readMessage(timeout: milliseconds)
            if message.class == type { return message }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Collects log lines from the publisher's thread.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var logger: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// Waits up to `milliseconds` for `condition`.
func eventually(_ milliseconds: Int = 3000, _ condition: () -> Bool) -> Bool {
    let deadline = System.live.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    while System.live.monotonicNanoseconds() < deadline {
        if condition() { return true }
        System.sleep(nanoseconds: 2_000_000)
    }
    return condition()
}
