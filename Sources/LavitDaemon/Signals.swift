#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// Signals as events on a thread of their own: blocked everywhere, then taken with `sigwait`, so
/// the handler is ordinary code (it may lock, allocate, log) instead of async-signal-safe code.
public enum Signals {
    /// Blocks `signals` in the calling thread and so in every thread it starts afterwards: call
    /// before starting any. Ignores SIGPIPE, which a client closing its socket would otherwise
    /// send, killing the daemon.
    public static func block(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// Calls `handler` on a new thread with each of `signals` as it arrives, for the life of
    /// the process. The signals must have been blocked with `block` first.
    public static func handle(_ signals: [Int32], system: System = .live, _ handler: @escaping @Sendable (Int32) -> Void) throws(Errno) {
        let wanted = signals
        _ = try system.startThread {
            var set = sigset_t()
            sigemptyset(&set)
            for signal in wanted { sigaddset(&set, signal) }
            while true {
                var received: Int32 = 0
                if sigwait(&set, &received) == 0 { handler(received) }
            }
        }
    }
}
