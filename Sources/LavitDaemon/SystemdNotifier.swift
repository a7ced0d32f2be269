#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// sd_notify(3) without libsystemd: datagrams to `$NOTIFY_SOCKET`. Under systemd with
/// `Type=notify` this is how lavitd says it is ready, what it is doing, that it is alive
/// (the watchdog), and that it is stopping or reloading. Without `$NOTIFY_SOCKET` every call
/// does nothing, so lavitd runs the same in a terminal.
///
/// `watchdog()` is called from the frame loop on every turn and allocates nothing; the message
/// goes out at half the interval systemd asked for, so one late turn does not trip it.
public final class SystemdNotifier: @unchecked Sendable {
    private let system: System
    private let fd: Int32?
    /// Half of `$WATCHDOG_USEC`, in nanoseconds; nil when systemd wants no watchdog pings.
    public let watchdogInterval: UInt64?
    private var lastPing: UInt64 = 0
    private static let ping = Array("WATCHDOG=1".utf8)

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from `environment` (the
    /// process's own by default). A socket that cannot be reached is logged by the caller via
    /// `problem`, and notification is then off.
    public init(environment: [String: String], system: System = .live) {
        self.system = system
        var descriptor: Int32?
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty {
            descriptor = try? system.connectUnixDatagram(path)
        }
        fd = descriptor
        var interval: UInt64?
        if let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0, usec < UInt64.max / 1000 {
            let forUs = environment["WATCHDOG_PID"].map { UInt32($0) == UInt32(getpid()) } ?? true
            if forUs { interval = usec * 1000 / 2 }
        }
        watchdogInterval = interval
    }

    deinit { if let fd { system.close(fd) } }

    /// The process environment as a dictionary.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// Whether there is a socket to talk to.
    public var isActive: Bool { fd != nil }

    /// Sends `state` ("READY=1", "STATUS=...", several separated by newlines). Best effort: a
    /// full or vanished socket loses the message, which systemd tolerates.
    public func notify(_ state: String) {
        guard let fd else { return }
        var bytes = Array(state.utf8)
        _ = bytes.withUnsafeMutableBytes { try? system.sendNow(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Pings the watchdog if half its interval has passed since the last ping.
    public func watchdog(now: UInt64) {
        guard let fd, let interval = watchdogInterval, now &- lastPing >= interval else { return }
        lastPing = now
        Self.ping.withUnsafeBytes { _ = try? system.sendNow(fd, $0) }
    }

    /// `RELOADING=1` with the monotonic time systemd 253+ uses to order it against `READY=1`.
    public func reloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(System.live.monotonicNanoseconds() / 1000)")
    }
}
