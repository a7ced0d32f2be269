#if canImport(Glibc)
import Glibc
#endif

/// Time stamps as the kernel keeps them: nanoseconds, no allocation, no Foundation.
public enum Clocks {
    /// CLOCK_MONOTONIC: for intervals and deadlines, unaffected by clock changes.
    @inline(__always)
    public static func monotonic() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// CLOCK_REALTIME: for the wall-clock time a person reads.
    @inline(__always)
    public static func wall() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }
}
