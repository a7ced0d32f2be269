#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import LavitImage
import LavitSystem

/// A V4L2 camera as a frame source: mmap streaming, always the freshest frame, and a state
/// machine that turns every device failure into `.offline` and a reopen a retry interval later.
///
/// After the first open everything is allocated; `nextFrame` and `releaseFrame` allocate nothing
/// while frames flow. Strings are built only when the state changes.
public final class CameraSource: FrameSource {
    public let configuration: CameraConfiguration
    public private(set) var state: SourceState = .starting
    public private(set) var counters = CaptureCounters()
    public var onStateChange: ((SourceState) -> Void)?

    public var name: String { configuration.path }

    private let system: System
    private var device: CameraDevice?
    /// The buffer the caller holds, or -1.
    private var held = -1
    private let pollDescriptor: UnsafeMutablePointer<pollfd>
    private let frameTimeout: UInt64
    private let retryInterval: UInt64
    private let stallReason: String
    private var nextAttempt: UInt64 = 0
    private var lastFrameAt: UInt64 = 0
    private var everOnline = false
    private var pendingSkipped = 0
    private var sequence: UInt64 = 0
    private var haveSequence = false
    /// The driver's last sequence number since this open (it restarts at every STREAMON).
    private var lastDriverSequence: UInt32 = 0
    private var haveDriverSequence = false

    /// Checks the configuration and, with `openNow`, opens the device, throwing what stops it
    /// (missing, permission denied, no usable format). Without `openNow` the source starts in
    /// `.starting` and opens on the first `nextFrame`, so a daemon can start before the camera is
    /// plugged in.
    public init(_ configuration: CameraConfiguration, system: System = .live, openNow: Bool = true) throws(CaptureError) {
        try configuration.validate()
        self.configuration = configuration
        self.system = system
        frameTimeout = .nanoseconds(milliseconds: configuration.frameTimeoutMilliseconds)
        retryInterval = .nanoseconds(milliseconds: configuration.retryIntervalMilliseconds)
        stallReason = "no frame for \(configuration.frameTimeoutMilliseconds) ms"
        // Allocated only once the configuration is known good: a throw before every property
        // is set skips deinit.
        pollDescriptor = .allocate(capacity: 1)
        pollDescriptor.initialize(to: pollfd())
        if openNow {
            // Throwing after every property is set still runs deinit, which frees the poll entry.
            do throws(CaptureError.Reason) { try open() } catch { throw CaptureError(source: configuration.path, error) }
        }
    }

    deinit {
        device?.close()
        pollDescriptor.deallocate()
    }

    public func nextFrame(timeoutMilliseconds: Int) -> Frame? {
        releaseFrame()
        let start = system.monotonicNanoseconds()
        let deadline = start.saturatingAdd(.nanoseconds(milliseconds: timeoutMilliseconds))
        var now = start
        var first = true
        while true {
            if !first {
                now = system.monotonicNanoseconds()
                if now >= deadline { return nil }
            }
            first = false
            switch state {
            case .finished:
                return nil
            case .starting, .offline:
                guard reopenIfDue(now: now, deadline: deadline) else { return nil }
                now = system.monotonicNanoseconds()
            case .online:
                break
            }
            guard let device else { return nil }
            let stallAt = lastFrameAt.saturatingAdd(frameTimeout)
            if now >= stallAt {
                stalled()
                return nil
            }
            pollDescriptor.pointee = pollfd(fd: device.fd, events: Int16(POLLIN), revents: 0)
            let ready: Int
            do throws(Errno) {
                ready = try system.poll(
                    UnsafeMutableBufferPointer(start: pollDescriptor, count: 1),
                    timeoutMilliseconds: Self.milliseconds(from: now, to: min(deadline, stallAt)))
            } catch {
                lost(error)
                return nil
            }
            let wake = system.monotonicNanoseconds()
            if ready == 0 {
                if wake >= stallAt {
                    stalled()
                    return nil
                }
                continue
            }
            let newest: Dequeued?
            do throws(Errno) { newest = try drain(device) } catch {
                lost(error)
                return nil
            }
            guard let newest else {
                // Readable or in error, yet nothing to dequeue: an error flag means the device
                // is gone or stopped streaming; otherwise the wake-up was spurious.
                if Int32(pollDescriptor.pointee.revents) & (POLLERR | POLLHUP | POLLNVAL) != 0 {
                    goOffline("the device reported an error while streaming")
                    return nil
                }
                continue
            }
            return deliver(newest, from: device, wake: wake)
        }
    }

    public func releaseFrame() {
        guard held >= 0 else { return }
        let index = held
        held = -1
        guard let device else { return }
        do throws(Errno) { try device.queue(index) } catch { lost(error) }
    }

    public func close() {
        closeDevice()
        setState(.finished)
    }

    // MARK: Frames

    /// A dequeued buffer that passed the checks.
    private struct Dequeued {
        var index: Int
        var length: Int
        var sequence: UInt64
        var flags: UInt32
        var timestamp: timeval
    }

    /// Dequeues every ready buffer and keeps the newest good one, requeueing the rest. Bounded:
    /// a driver that refills requeued buffers as fast as they are taken cannot hold us here.
    private func drain(_ device: CameraDevice) throws(Errno) -> Dequeued? {
        var newest: Dequeued?
        var buffer = v4l2_buffer()
        for _ in 0..<(2 * device.buffers.count) {
            guard try device.dequeue(into: &buffer) else { break }
            let index = Int(buffer.index)
            guard index < device.buffers.count else { throw Errno(EIO, call: "VIDIOC_DQBUF (buffer index out of range)") }
            countSequence(buffer.sequence)
            guard let length = payloadLength(buffer, device.buffers[index], device) else {
                try device.queue(index)
                skip(1)
                continue
            }
            if let older = newest {
                try device.queue(older.index)
                skip(1)
            }
            newest = Dequeued(index: index, length: length, sequence: sequence, flags: buffer.flags, timestamp: buffer.timestamp)
        }
        return newest
    }

    /// The bytes worth delivering, or nil for a frame to drop: flagged as damaged, claiming more
    /// bytes than its buffer holds, a JPEG without its end marker, a YUYV frame cut short.
    private func payloadLength(_ buffer: v4l2_buffer, _ mapped: CameraDevice.MappedBuffer, _ device: CameraDevice) -> Int? {
        guard buffer.flags & LAVIT_BUF_FLAG_ERROR == 0 else { return nil }
        let used = Int(buffer.bytesused)
        guard used <= mapped.length else { return nil }
        if device.format.isJPEG {
            let bytes = UnsafeRawBufferPointer(start: mapped.address, count: used)
            guard used >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
            return ImageDecoder.jpegDataLength(bytes)
        }
        let needed = device.bytesPerLine * device.height
        return used >= needed ? needed : nil
    }

    /// Advances the 64-bit sequence and counts the frames the driver numbered but never gave us.
    private func countSequence(_ driver: UInt32) {
        if haveDriverSequence {
            let delta = driver &- lastDriverSequence
            if delta >= 1 && delta < 1 << 31 {
                skip(Int(delta - 1))
                sequence &+= UInt64(delta)
            } else {
                // Repeated or going backwards: the driver restarted its count; trust nothing.
                sequence &+= 1
            }
        } else if haveSequence {
            sequence &+= 1
        } else {
            sequence = UInt64(driver)
            haveSequence = true
        }
        lastDriverSequence = driver
        haveDriverSequence = true
    }

    private func skip(_ count: Int) {
        pendingSkipped = pendingSkipped.saturatingAdd(count)
        counters.skipped = counters.skipped.saturatingAdd(UInt64(count))
    }

    private func deliver(_ dequeued: Dequeued, from device: CameraDevice, wake: UInt64) -> Frame {
        held = dequeued.index
        let now = system.monotonicNanoseconds()
        lastFrameAt = now
        counters.frames &+= 1
        let captured = captureTime(dequeued, now: now)
        let wall = system.realtimeNanoseconds()
        let bytes = UnsafeRawBufferPointer(start: device.buffers[dequeued.index].address, count: dequeued.length)
        let payload: FramePayload =
            device.format.isJPEG
            ? .compressed(bytes)
            : .yuyv(bytes, width: device.width, height: device.height, bytesPerLine: device.bytesPerLine)
        let frame = Frame(
            payload: payload, sequence: dequeued.sequence, skipped: pendingSkipped, monotonicNanoseconds: captured,
            wallNanoseconds: wall.subtractingReportingOverflow(Int64(clamping: now - captured)).partialValue,
            grabNanoseconds: now >= wake ? now - wake : 0)
        pendingSkipped = 0
        return frame
    }

    /// The driver's capture time when it is CLOCK_MONOTONIC and plausible (not in the future),
    /// else now: the timestamp is one more number a driver can get wrong.
    private func captureTime(_ dequeued: Dequeued, now: UInt64) -> UInt64 {
        guard dequeued.flags & LAVIT_BUF_FLAG_TIMESTAMP_MASK == LAVIT_BUF_FLAG_TIMESTAMP_MONOTONIC else { return now }
        let seconds = dequeued.timestamp.tv_sec
        let microseconds = dequeued.timestamp.tv_usec
        guard seconds >= 0, seconds < 1 << 33, microseconds >= 0, microseconds < 1_000_000 else { return now }
        let captured = UInt64(seconds) * 1_000_000_000 + UInt64(microseconds) * 1000
        return captured > 0 && captured <= now ? captured : now
    }

    // MARK: States

    private func open() throws(CaptureError.Reason) {
        let opened = try CameraDevice.open(configuration, system: system)
        device = opened
        lastFrameAt = system.monotonicNanoseconds()
        if everOnline { counters.reopens &+= 1 }
        everOnline = true
        setState(.online(opened.summary))
    }

    /// Tries to open when the retry interval has passed (at once when starting); otherwise, or
    /// when that fails, sleeps toward the next attempt but never past the caller's deadline.
    private func reopenIfDue(now: UInt64, deadline: UInt64) -> Bool {
        if state == .starting || now >= nextAttempt {
            do throws(CaptureError.Reason) {
                try open()
                return true
            } catch {
                nextAttempt = now.saturatingAdd(retryInterval)
                setState(.offline(error.description))
            }
        }
        system.sleep(untilMonotonic: min(nextAttempt, deadline))
        return false
    }

    private func stalled() {
        counters.timeouts &+= 1
        goOffline(stallReason)
    }

    private func lost(_ error: Errno) { goOffline(error.description) }

    private func goOffline(_ reason: String) {
        closeDevice()
        nextAttempt = system.monotonicNanoseconds().saturatingAdd(retryInterval)
        setState(.offline(reason))
    }

    private func closeDevice() {
        held = -1
        device?.close()
        device = nil
        haveDriverSequence = false
    }

    private func setState(_ new: SourceState) {
        guard new != state else { return }
        state = new
        onStateChange?(new)
    }

    /// Whole milliseconds from `now` to `target`, rounded up so a poll never wakes just short of
    /// a deadline; 0 when it has passed.
    static func milliseconds(from now: UInt64, to target: UInt64) -> Int32 {
        guard target > now else { return 0 }
        return Int32(clamping: (target - now + 999_999) / 1_000_000)
    }
}
