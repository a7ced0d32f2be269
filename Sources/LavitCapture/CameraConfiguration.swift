import LavitImage

/// What to open and ask for; checked once, before the device is touched.
public struct CameraConfiguration: Sendable, Equatable {
    /// A device node or a link to one (`/dev/v4l/by-id/...` stays right across replugs).
    public var path: String
    public var size: FrameSize
    /// Requested with VIDIOC_S_PARM; drivers may ignore it.
    public var framesPerSecond: Int
    /// mmap buffers asked of the driver; more absorb a slow consumer's jitter, each costs a frame
    /// of memory.
    public var bufferCount: Int
    /// No frame for this long: the device is closed and reopened.
    public var frameTimeoutMilliseconds: Int
    /// While offline, open is tried at most this often.
    public var retryIntervalMilliseconds: Int

    public static let bufferCounts = 2...8
    public static let framesPerSecondRange = 1...1000

    public init(
        path: String, size: FrameSize = .atLeast(width: 224, height: 224), framesPerSecond: Int = 30,
        bufferCount: Int = 4, frameTimeoutMilliseconds: Int = 2000, retryIntervalMilliseconds: Int = 1000
    ) {
        self.path = path
        self.size = size
        self.framesPerSecond = framesPerSecond
        self.bufferCount = bufferCount
        self.frameTimeoutMilliseconds = frameTimeoutMilliseconds
        self.retryIntervalMilliseconds = retryIntervalMilliseconds
    }

    func validate() throws(CaptureError) {
        func fail(_ message: String) -> CaptureError { CaptureError(source: path, .configuration(message)) }
        guard !path.isEmpty, !path.utf8.contains(0) else { throw fail("empty or invalid device path") }
        let (width, height) = size.dimensions
        guard (1...ImageLimits.maxSide).contains(width), (1...ImageLimits.maxSide).contains(height) else {
            throw fail("frame size \(width)x\(height) is outside 1...\(ImageLimits.maxSide)")
        }
        guard Self.framesPerSecondRange.contains(framesPerSecond) else {
            throw fail("frame rate \(framesPerSecond) is outside \(Self.framesPerSecondRange)")
        }
        guard Self.bufferCounts.contains(bufferCount) else {
            throw fail("buffer count \(bufferCount) is outside \(Self.bufferCounts)")
        }
        guard frameTimeoutMilliseconds >= 1, retryIntervalMilliseconds >= 1 else {
            throw fail("frame timeout and retry interval must be at least 1 ms")
        }
    }
}
