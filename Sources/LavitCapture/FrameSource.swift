import LavitImage

/// One frame as a source hands it on. The payload's bytes belong to the source and stay valid
/// until `releaseFrame()` or the next `nextFrame`.
public struct Frame {
    public var payload: FramePayload
    /// The source's frame number: for a camera the V4L2 buffer sequence, widened to 64 bits and
    /// kept increasing across reopens, so it is unique for the source's lifetime.
    public var sequence: UInt64
    /// Frames lost since the previous delivered frame: older buffers drained and requeued, gaps
    /// in the driver's sequence numbers, damaged frames dropped, files that failed to read.
    public var skipped: Int
    /// CLOCK_MONOTONIC at capture.
    public var monotonicNanoseconds: UInt64
    /// CLOCK_REALTIME at capture.
    public var wallNanoseconds: Int64
    /// Time spent in `nextFrame` obtaining it, from the poll's wake-up to the frame in hand.
    public var grabNanoseconds: UInt64
    /// The image file it came from, for a file source: results can then be checked file by file.
    public var file: String?

    public init(
        payload: FramePayload, sequence: UInt64, skipped: Int, monotonicNanoseconds: UInt64, wallNanoseconds: Int64,
        grabNanoseconds: UInt64, file: String? = nil
    ) {
        self.file = file
        self.payload = payload
        self.sequence = sequence
        self.skipped = skipped
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallNanoseconds = wallNanoseconds
        self.grabNanoseconds = grabNanoseconds
    }
}

public enum SourceState: Equatable, Sendable {
    /// Created, not yet opened.
    case starting
    /// Delivering; what it delivers, e.g. "MJPG 1280x720 @ 30 fps".
    case online(String)
    /// Waiting for the device to come back; why, on one line.
    case offline(String)
    /// Closed, or a file source that delivered its count: nothing more will come.
    case finished
}

public struct CaptureCounters: Sendable, Equatable {
    /// Frames delivered.
    public var frames: UInt64
    /// Frames lost, the sum of every delivered frame's `skipped` and any lost after the last.
    public var skipped: UInt64
    /// Times the source came back online after going offline.
    public var reopens: UInt64
    /// Times the device went silent for the frame timeout and was closed for it.
    public var timeouts: UInt64

    public init(frames: UInt64 = 0, skipped: UInt64 = 0, reopens: UInt64 = 0, timeouts: UInt64 = 0) {
        self.frames = frames
        self.skipped = skipped
        self.reopens = reopens
        self.timeouts = timeouts
    }
}

/// Where frames come from: a camera or image files. One thread uses a source at a time.
public protocol FrameSource: AnyObject {
    /// "/dev/video0" or "images/ (120 files)".
    var name: String { get }
    var state: SourceState { get }
    var counters: CaptureCounters { get }
    /// Called on the caller's thread, from inside `nextFrame`, `releaseFrame` or `close`, once
    /// per change.
    var onStateChange: ((SourceState) -> Void)? { get set }
    /// The freshest frame, waiting at most `timeoutMilliseconds`; nil on timeout, while offline,
    /// or when finished. Never throws: failures become state changes. The frame's bytes are valid
    /// until releaseFrame()/nextFrame.
    func nextFrame(timeoutMilliseconds: Int) -> Frame?
    /// Gives the last frame's buffer back; its bytes must not be read afterwards.
    func releaseFrame()
    /// Releases everything; the state becomes `.finished`. Idempotent.
    func close()
}

/// Integer helpers for counts that come from drivers and must not trap.
extension Int {
    @inline(__always)
    func saturatingAdd(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other < 0 ? .min : .max) : sum
    }
}

extension UInt64 {
    @inline(__always)
    func saturatingAdd(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    /// Milliseconds to nanoseconds, for configured intervals and timeouts (negative as 0).
    static func nanoseconds(milliseconds: Int) -> UInt64 {
        let (product, overflow) = UInt64(clamping: Swift.max(milliseconds, 0)).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : product
    }
}
