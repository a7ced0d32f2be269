#if canImport(Glibc)
import Glibc
#endif

/// A progress bar with an ETA on a terminal; on a pipe or under systemd, a plain line every tenth
/// of the way, so logs stay readable.
struct Progress {
    let title: String
    let total: Int
    private let start = Progress.now()
    private let terminal = isatty(2) == 1
    private var done = 0
    private var lastDecile = -1

    init(_ title: String, total: Int) {
        self.title = title
        self.total = max(1, total)
    }

    mutating func advance(by n: Int = 1) {
        done = min(total, done + n)
        let elapsed = Progress.now() - start
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if terminal {
            let width = 30
            let filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            writeStderr("\r\(title) [\(bar)] \(done)/\(total)  \(Progress.clock(elapsed)) elapsed, ETA \(Progress.clock(eta)) ")
            if done == total { writeStderr("\n") }
        } else {
            let decile = 10 * done / total
            if decile != lastDecile {
                lastDecile = decile
                writeStderr("\(title): \(done)/\(total), \(Progress.clock(elapsed)) elapsed, ETA \(Progress.clock(eta))\n")
            }
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let pad = s % 60 < 10 ? "0" : ""
        return "\(s / 60):\(pad)\(s % 60)"
    }
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}
