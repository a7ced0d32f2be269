import LavitCapture
import Synchronization

/// Counters and recent latencies of the frame loop, read by the publisher thread for `status`.
/// Recording takes a short lock and allocates nothing; a snapshot sorts a copy, off the frame path.
final class Metrics: Sendable {
    struct State {
        var frames: UInt64 = 0
        var corrupt: UInt64 = 0
        /// Frames left unclassified by `rate`, on top of those the source skipped.
        var rateSkipped: UInt64 = 0
        /// The last `window` per-frame latencies (grab + decode + infer), nanoseconds, as a ring.
        var latencies: [UInt64]
        /// Monotonic capture times of the last `window` results, for the frame rate.
        var stamps: [UInt64]
        var next = 0
        var filled = 0
        /// The source's state and counters as the frame thread last saw them.
        var sourceState = SourceState.starting
        var sourceCounters = CaptureCounters()
    }

    static let window = 128
    private let state = Mutex(State(
        latencies: [UInt64](repeating: 0, count: Metrics.window), stamps: [UInt64](repeating: 0, count: Metrics.window)))

    func record(latencyNanoseconds: UInt64, at stamp: UInt64, counters: CaptureCounters) {
        state.withLock { s in
            s.sourceCounters = counters
            s.frames += 1
            s.latencies[s.next] = latencyNanoseconds
            s.stamps[s.next] = stamp
            s.next = (s.next + 1) % Self.window
            s.filled = min(s.filled + 1, Self.window)
        }
    }

    /// Records the source's state (rare: only on a change) and returns the one it replaces.
    func setSource(state: SourceState, counters: CaptureCounters) -> SourceState {
        self.state.withLock { s in
            let previous = s.sourceState
            s.sourceState = state
            s.sourceCounters = counters
            return previous
        }
    }

    func recordCorrupt() { state.withLock { $0.corrupt += 1 } }
    func recordRateSkip(_ count: Int) { state.withLock { $0.rateSkipped &+= UInt64(max(count, 0)) } }

    struct Summary: Equatable {
        var frames: UInt64
        var corrupt: UInt64
        var rateSkipped: UInt64
        /// Results per second over the recent window, 0 when results stopped over 2 s ago.
        var fps: Double
        var p50: Double
        var p90: Double
        var p99: Double
        var sourceState: SourceState
        var sourceCounters: CaptureCounters
    }

    func summary(now: UInt64) -> Summary {
        // Copies made inside the lock (map, not a copy of the array value): sharing the frame
        // thread's storage would make its next write copy it, an allocation on the frame path.
        struct Copy {
            var frames: UInt64, corrupt: UInt64, rateSkipped: UInt64, next: Int, filled: Int
            var latencies: [UInt64], stamps: [UInt64]
            var sourceState: SourceState, sourceCounters: CaptureCounters
        }
        let s = state.withLock { s in
            Copy(frames: s.frames, corrupt: s.corrupt, rateSkipped: s.rateSkipped, next: s.next, filled: s.filled,
                 latencies: s.latencies.map { $0 }, stamps: s.stamps.map { $0 },
                 sourceState: s.sourceState, sourceCounters: s.sourceCounters)
        }
        let latencies = s.latencies
        let stamps = s.stamps
        var fps = 0.0
        if s.filled >= 2 {
            let newest = stamps[(s.next + Self.window - 1) % Self.window]
            let oldest = stamps[(s.next + Self.window - s.filled) % Self.window]
            if newest > oldest && now &- newest < 2_000_000_000 {
                fps = Double(s.filled - 1) / (Double(newest - oldest) / 1e9)
            }
        }
        let sorted = latencies.prefix(s.filled).sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((p * Double(sorted.count - 1)).rounded())
            return Double(sorted[rank]) / 1e6
        }
        return Summary(
            frames: s.frames, corrupt: s.corrupt, rateSkipped: s.rateSkipped, fps: fps,
            p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99),
            sourceState: s.sourceState, sourceCounters: s.sourceCounters)
    }
}
