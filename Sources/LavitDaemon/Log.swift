#if canImport(Glibc)
import Glibc
#endif
import LavitText
import Synchronization

/// lavitd's log: one line per event on stderr. Under systemd (`$JOURNAL_STREAM` names our
/// stderr) each line starts with sd-daemon's `<N>` priority so the journal files it right, and
/// carries no timestamp, which the journal adds; on a terminal or a file, a UTC time stamp.
public final class Log: Sendable {
    public enum Level: Int32, Sendable {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7
    }

    private let journal: Bool
    private let write: @Sendable (String) -> Void
    /// Lines are written whole: threads never interleave within a line.
    private let lock = Mutex(())

    public init(journal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.journal = journal
        self.write = write
    }

    /// The log of a process: stderr, journal style when systemd connected stderr to the journal.
    public static func standardError() -> Log {
        Log(journal: Self.stderrIsJournal()) { line in
            line.utf8CString.withUnsafeBufferPointer { buffer in
                var done = 0
                let count = buffer.count - 1
                while done < count {
                    let n = Glibc.write(2, buffer.baseAddress! + done, count - done)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                    done += n
                }
            }
        }
    }

    /// `$JOURNAL_STREAM` is "device:inode" of the stream systemd connected; it counts only if
    /// stderr still is that stream (a child may have redirected it).
    static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    public func log(_ level: Level, _ message: String) {
        // Messages carry text from files, devices and libraries: never a second log line.
        let text = escapedControls(message)
        let line: String
        if journal {
            line = "<\(level.rawValue)>\(text)\n"
        } else {
            let tag = level == .error ? "error: " : level == .warning ? "warning: " : ""
            line = "\(Self.timestamp()) lavitd: \(tag)\(text)\n"
        }
        lock.withLock { _ in write(line) }
    }

    public func error(_ message: String) { log(.error, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func notice(_ message: String) { log(.notice, message) }
    public func info(_ message: String) { log(.info, message) }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }
}
