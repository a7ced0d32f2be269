#if canImport(Glibc)
import Glibc
#endif

/// Time through the seam too, so a fake camera can make a two-second stall take no time in a test.
extension System {
    public func monotonicNanoseconds() -> UInt64 {
        UInt64(clamping: Self.nanoseconds(clock(CLOCK_MONOTONIC)))
    }

    public func realtimeNanoseconds() -> Int64 { Self.nanoseconds(clock(CLOCK_REALTIME)) }

    /// Sleeps until CLOCK_MONOTONIC reaches `deadline`. A signal's interruption is resumed: the
    /// deadline is absolute, so resuming never lengthens the sleep.
    public func sleep(untilMonotonic deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while calls.clockSleep(CLOCK_MONOTONIC, until: &time) == -EINTR {}
    }

    private func clock(_ id: clockid_t) -> timespec {
        var time = timespec()
        _ = calls.clockGetTime(id, &time)
        return time
    }

    /// Saturating: a clock far outside 1678...2262 cannot trap.
    static func nanoseconds(_ time: timespec) -> Int64 {
        let (seconds, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return time.tv_sec < 0 ? .min : .max }
        let (sum, overflowSum) = seconds.addingReportingOverflow(Int64(time.tv_nsec))
        return overflowSum ? (seconds < 0 ? .min : .max) : sum
    }
}
