#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// What `lavit-client` was asked to do.
public struct ClientOptions: Sendable {
    public var socketPath: String
    /// Print each object as the daemon sent it instead of a readable line.
    public var json = false
    /// Exit after the first result.
    public var once = false
    /// Ask for the status, print it, exit.
    public var status = false
    /// Exit after this many results.
    public var count: Int?
    /// Ask for this many labels per result.
    public var top: Int?
    /// Wait for the daemon, and reconnect every second when it goes away.
    public var follow = false
    /// How long `status` waits for the answer.
    public var statusTimeoutMilliseconds: Int32 = 5000

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Results to print before exiting; nil for no end.
    var resultLimit: Int? { once ? 1 : count }
}

/// Why the client stopped; each reads as one line the user can act on.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case notRunning(path: String)
    case permissionDenied(path: String)
    case cannotConnect(path: String, Errno)
    case closed(path: String)
    case noStatus(path: String)
    case lineTooLong(limit: Int)

    /// The error for a failed connect: the two everyone hits get their remedy named.
    public static func connecting(_ path: String, _ error: Errno) -> ClientError {
        switch error.code {
        case ENOENT, ECONNREFUSED: .notRunning(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        default: .cannotConnect(path: path, error)
        }
    }

    public var description: String {
        switch self {
        case let .notRunning(path): "lavitd is not running (no socket at \(path))"
        case let .permissionDenied(path): "permission denied on \(path): join group lavitd"
        case let .cannotConnect(path, error): "cannot connect to \(path): \(error.message)"
        case let .closed(path): "lavitd closed the connection (\(path))"
        case let .noStatus(path): "lavitd at \(path) did not answer ?status"
        case let .lineTooLong(limit): "lavitd sent a line longer than \(limit) bytes"
        }
    }

    /// Whether `--follow` waits and tries again: the daemon is away, not misconfigured.
    var isTransient: Bool {
        switch self {
        case .notRunning, .closed: true
        default: false
        }
    }
}

/// The client's work, apart from the command line: connect, ask, read lines, print. Output goes
/// through closures so tests read it back.
public final class ClientSession {
    let options: ClientOptions
    let system: System
    /// Standard output: results, statuses, or JSON lines.
    let output: (String) -> Void
    /// Standard error: the hello, the daemon's error objects, reconnect notices.
    let note: (String) -> Void
    private var printed = 0
    private var previousMonotonic: UInt64?

    /// Longest line accepted from the daemon: a hello with thousands of labels fits.
    public static let maxLineBytes = 1 << 20

    public init(options: ClientOptions, system: System = .live, output: @escaping (String) -> Void, note: @escaping (String) -> Void) {
        self.options = options
        self.system = system
        self.output = output
        self.note = note
    }

    /// Runs until the asked-for results or status are printed; forever for a plain `--follow`
    /// or a stream without `--count`, until the daemon goes away.
    public func run() throws(ClientError) {
        var waiting = false
        while true {
            do throws(ClientError) {
                try session()
                return
            } catch {
                guard options.follow, error.isTransient else { throw error }
                if !waiting { note("\(error); retrying every second") }
                waiting = true
                System.sleep(nanoseconds: 1_000_000_000)
            }
        }
    }

    /// One connection: returns when done, throws when the connection fails or ends early.
    private func session() throws(ClientError) {
        let path = options.socketPath
        let fd: Int32
        do throws(Errno) { fd = try system.connectUnix(path) } catch { throw .connecting(path, error) }
        defer { system.close(fd) }
        previousMonotonic = nil
        var commands = ""
        if let top = options.top { commands += "?top=\(top)\n" }
        if options.status { commands += "?status\n" }
        if !commands.isEmpty {
            let sent = commands.withUTF8 { try? system.sendNow(fd, UnsafeRawBufferPointer($0)) }
            guard sent == commands.utf8.count else { throw .closed(path: path) }
        }
        var reader = LineReader(fd: fd, system: system, limit: Self.maxLineBytes)
        let timeout = options.status ? options.statusTimeoutMilliseconds : -1
        while true {
            let line: [UInt8]
            switch try reader.next(timeoutMilliseconds: timeout) {
            case let .line(bytes): line = bytes
            case .endOfFile: throw .closed(path: path)
            case .timedOut: throw .noStatus(path: path)
            }
            if try handle(line) { return }
        }
    }

    /// Prints what `line` calls for; whether the session is complete.
    private func handle(_ line: [UInt8]) throws(ClientError) -> Bool {
        let message = DaemonMessage.decode(line)
        let raw = String(decoding: line, as: UTF8.self)
        switch message {
        case let .hello(hello):
            if options.json && !options.status && !options.once { output(raw) } else if !options.json { note(Render.hello(hello)) }
        case let .result(result):
            if options.status { return false }
            let fps = Render.fps(previous: previousMonotonic, current: result.mono_ns)
            previousMonotonic = result.mono_ns
            output(options.json ? raw : Render.result(result, fps: fps))
            printed += 1
            if let limit = options.resultLimit, printed >= limit { return true }
        case let .status(status):
            if options.once && !options.status { return false }
            output(options.json ? raw : Render.status(status))
            if options.status { return true }
        case let .error(error):
            if options.json { output(raw) } else { note("lavitd: error: \(error.message ?? "?")") }
        case .other, nil:
            if options.json && !options.status && !options.once { output(raw) }
        }
        return false
    }
}

/// Lines from a blocking socket, each at most `limit` bytes.
struct LineReader {
    enum Outcome {
        case line([UInt8])
        case endOfFile
        case timedOut
    }

    let fd: Int32
    let system: System
    let limit: Int
    private var pending: [UInt8] = []
    private var scanned = 0
    private var chunk = [UInt8](repeating: 0, count: 65536)

    init(fd: Int32, system: System, limit: Int) {
        self.fd = fd
        self.system = system
        self.limit = limit
    }

    /// The next line without its newline. The timeout applies to each wait for more bytes; -1
    /// waits for ever.
    mutating func next(timeoutMilliseconds: Int32) throws(ClientError) -> Outcome {
        while true {
            if let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                scanned = 0
                return .line(line)
            }
            scanned = pending.count
            guard pending.count <= limit else { throw .lineTooLong(limit: limit) }
            if !waitReadable(timeoutMilliseconds) { return .timedOut }
            let n = readChunk()
            guard n > 0 else { return .endOfFile }
            pending.append(contentsOf: chunk[..<n])
        }
    }

    /// Whether bytes (or the end) arrived within the timeout; a failed poll counts as arrived,
    /// so the read that follows reports it.
    private func waitReadable(_ timeoutMilliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = withUnsafeMutablePointer(to: &descriptor) {
            try? system.poll(UnsafeMutableBufferPointer(start: $0, count: 1), timeoutMilliseconds: timeoutMilliseconds)
        }
        return ready != 0
    }

    /// Bytes read into `chunk`; 0 at the end of the stream or on an error, which ends it too.
    private mutating func readChunk() -> Int {
        let (fd, system) = (fd, system)
        return chunk.withUnsafeMutableBytes { (try? system.read(fd, into: $0)) ?? 0 }
    }
}
