import ArgumentParser
import LavitSystem

/// `lavit-client`: prints what lavitd publishes. The executable only calls `main()`.
public struct LavitClientCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lavit-client",
        abstract: "Print lavitd's predictions and status.",
        discussion: "Each result is one line: the UTC time, the labels with their probabilities, and the rate.")

    @Option(help: "The daemon's socket.")
    var socket = "/run/lavitd/lavitd.sock"

    @Flag(help: "Print the daemon's JSON objects as they arrive, one per line.")
    var json = false

    @Flag(help: "Print the first result, then exit.")
    var once = false

    @Flag(help: "Print the daemon's status, then exit.")
    var status = false

    @Option(help: "Print this many results, then exit.")
    var count: Int?

    @Option(help: "Labels per result (the daemon's maximum applies).")
    var top: Int?

    @Flag(help: "Wait for the daemon, and reconnect every second when it goes away.")
    var follow = false

    public init() {}

    public func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if status && (once || count != nil || follow) { throw ValidationError("--status cannot be combined with --once, --count or --follow") }
    }

    var options: ClientOptions {
        var options = ClientOptions(socketPath: socket)
        options.json = json
        options.once = once
        options.status = status
        options.count = count
        options.top = top
        options.follow = follow
        return options
    }

    public func run() throws {
        let session = ClientSession(options: options, output: { Self.write(1, $0) }, note: { Self.write(2, $0) })
        do throws(ClientError) {
            try session.run()
        } catch {
            Self.write(2, "lavit-client: \(error)")
            throw ExitCode.failure
        }
    }

    /// One line straight to the descriptor, unbuffered, so piped output keeps up with results.
    static func write(_ fd: Int32, _ text: String) {
        var line = text + "\n"
        line.withUTF8 { _ = try? System.live.writeFully(fd, UnsafeRawBufferPointer($0)) }
    }
}
