import CSystemShims
import Glibc
import LavitSystem

/// A V4L2 driver emulated at the ioctl level, with its own clock, for testing capture without a
/// camera. Scripted by its properties: the formats and sizes it offers, frames it captures,
/// errors to inject, the device vanishing and returning. Everything but the device and the clock
/// goes to the real kernel, so code under test can still write files.
///
/// Used from one thread. Its hot path (poll, QBUF, DQBUF, capture) allocates nothing, so tests of
/// the source's allocations count only the source's.
public final class FakeCamera: SystemCalls, @unchecked Sendable {
    public struct Format {
        public var fourcc: UInt32
        public var sizes: [(width: Int, height: Int)]

        public init(fourcc: UInt32, sizes: [(width: Int, height: Int)]) {
            self.fourcc = fourcc
            self.sizes = sizes
        }
    }

    public struct Buffer {
        public var memory: UnsafeMutableRawPointer
        public var length: Int
        public var offset: Int
        public var bytesused: UInt32 = 0
        public var sequence: UInt32 = 0
        public var timestamp: UInt64 = 0
        public var flags: UInt32 = 0
    }

    // Script: what the device is and offers.
    public var path = "/dev/video0"
    public var present = true
    public var openError: Int32?
    public var capabilities = LAVIT_CAP_VIDEO_CAPTURE | LAVIT_CAP_STREAMING
    public var formats: [Format]
    /// S_PARM: the fastest the driver will go, nil when it has no S_PARM.
    public var maxFramesPerSecond: UInt32? = 30
    /// REQBUFS answers this count instead of what was asked.
    public var grantedBufferCount: UInt32?
    /// QUERYBUF answers this length instead of the frame size.
    public var bufferLength: Int?
    /// YUYV rows padded to this many bytes beyond 2 x width.
    public var rowPadding = 0

    // Script: frames.
    public var jpeg: [UInt8] = []
    /// Zero bytes after the JPEG in each MJPEG frame, as v4l2loopback sends.
    public var jpegPadding = 0
    /// Frames the sensor captures whenever poll would otherwise wait.
    public var framesPerPoll = 1
    /// Sequence numbers the driver skips before the next capture (frames it dropped).
    public var dropBeforeNext: UInt32 = 0
    /// Every captured frame claims this many bytes used.
    public var bytesusedOverride: UInt32?
    /// Poll times out however many buffers are queued: a stalled camera.
    public var stalled = false
    /// Poll says readable this many times with nothing to dequeue.
    public var spuriousWakeups = 0
    /// Errors for the next call of an ioctl, first matching first.
    public var injected: [(request: UInt, code: Int32)] = []
    /// The next calls of ioctl, poll and open that return -EINTR first.
    public var interrupts = 0

    // Observations.
    public private(set) var interruptsDelivered = 0
    public private(set) var opens = 0
    public private(set) var openDescriptor: Int32 = -1
    public private(set) var mappings = 0
    public private(set) var streamOffs = 0
    public private(set) var sequence: UInt32 = 0

    // Clock.
    public var monotonic: UInt64 = 5_000_000_000
    public let realtimeOffset: Int64 = 1_700_000_000_000_000_000

    // Driver state.
    public private(set) var current = (fourcc: UInt32(0), width: 0, height: 0, bytesPerLine: 0, sizeImage: 0)
    public private(set) var buffers: [Buffer] = []
    private var queued = IndexQueue()
    private var done = IndexQueue()
    private var streaming = false
    private var yuyvFrame: [UInt8] = []
    private let live = LiveSystemCalls()
    private let page = Int(getpagesize())

    public init(formats: [Format]) {
        self.formats = formats
    }

    deinit {
        freeBuffers()
        queued.deallocate()
        done.deallocate()
    }

    /// A FIFO of buffer indices on fixed storage: Array's generic algorithms allocate in debug
    /// builds, which would count against the source in the allocation tests.
    struct IndexQueue {
        private let storage = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        private var head = 0
        private(set) var count = 0

        public var isEmpty: Bool { count == 0 }

        mutating func append(_ index: Int) {
            storage[(head + count) % 64] = index
            count += 1
        }

        mutating func removeFirst() -> Int {
            let index = storage[head]
            head = (head + 1) % 64
            count -= 1
            return index
        }

        func contains(_ index: Int) -> Bool {
            var at = 0
            while at < count {
                if storage[(head + at) % 64] == index { return true }
                at += 1
            }
            return false
        }

        mutating func removeAll() {
            head = 0
            count = 0
        }

        func deallocate() { storage.deallocate() }
    }

    public static let mjpeg = LAVIT_PIX_FMT_MJPEG
    public static let yuyv = LAVIT_PIX_FMT_YUYV

    public func unplug() { present = false }
    public func replug() { present = true }

    /// The sensor captures `count` frames now, into queued buffers; with none queued a frame is
    /// dropped, as drivers do, and only its sequence number is used up.
    public func capture(_ count: Int) {
        for _ in 0..<count { captureOne() }
    }

    private func captureOne() {
        sequence &+= dropBeforeNext
        dropBeforeNext = 0
        monotonic += 1_000_000
        guard streaming, !queued.isEmpty else {
            sequence &+= 1
            return
        }
        let index = queued.removeFirst()
        var buffer = buffers[index]
        if current.fourcc == Self.yuyv {
            yuyvFrame.withUnsafeBytes { buffer.memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            buffer.bytesused = UInt32(current.sizeImage)
        } else {
            let count = min(jpeg.count, buffer.length)
            jpeg.withUnsafeBytes { buffer.memory.copyMemory(from: $0.baseAddress!, byteCount: count) }
            let padding = min(jpegPadding, buffer.length - count)
            (buffer.memory + count).initializeMemory(as: UInt8.self, repeating: 0, count: padding)
            buffer.bytesused = UInt32(count + padding)
        }
        if let bytesusedOverride { buffer.bytesused = bytesusedOverride }
        buffer.sequence = sequence
        buffer.timestamp = monotonic
        buffer.flags = LAVIT_BUF_FLAG_TIMESTAMP_MONOTONIC
        buffers[index] = buffer
        sequence &+= 1
        done.append(index)
    }

    // MARK: SystemCalls: the device

    public func deviceOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
        if interrupted() { return -EINTR }
        if let openError { return -openError }
        guard present, String(cString: path) == self.path else { return -ENOENT }
        guard openDescriptor < 0 else { return -EBUSY }
        opens += 1
        openDescriptor = Int32(100 + opens)
        sequence = 0
        return openDescriptor
    }

    public func deviceClose(_ fd: Int32) -> Int32 {
        guard fd == openDescriptor else { return -EBADF }
        stop()
        freeBuffers()
        openDescriptor = -1
        return 0
    }

    public func deviceMmap(_ length: Int, _ fd: Int32, _ offset: Int) -> (UnsafeMutableRawPointer?, Int32) {
        guard fd == openDescriptor else { return (nil, EBADF) }
        guard present else { return (nil, ENODEV) }
        guard let buffer = buffers.first(where: { $0.offset == offset }), length <= buffer.length else { return (nil, EINVAL) }
        mappings += 1
        return (buffer.memory, 0)
    }

    public func deviceMunmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int32 {
        mappings -= 1
        return 0
    }

    public func deviceIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32 {
        if interrupted() { return -EINTR }
        if !injected.isEmpty {
            for at in injected.indices where injected[at].request == request { return -injected.remove(at: at).code }
        }
        guard fd == openDescriptor else { return -EBADF }
        guard present else { return -ENODEV }
        switch request {
        case LAVIT_VIDIOC_QUERYCAP:
            let cap = argument.assumingMemoryBound(to: v4l2_capability.self)
            cap.pointee = v4l2_capability()
            cap.pointee.capabilities = capabilities | LAVIT_CAP_DEVICE_CAPS
            cap.pointee.device_caps = capabilities
        case LAVIT_VIDIOC_ENUM_FMT:
            let description = argument.assumingMemoryBound(to: v4l2_fmtdesc.self)
            let index = Int(description.pointee.index)
            guard description.pointee.type == LAVIT_BUF_TYPE_VIDEO_CAPTURE, index < formats.count else { return -EINVAL }
            description.pointee.pixelformat = formats[index].fourcc
        case LAVIT_VIDIOC_ENUM_FRAMESIZES:
            let size = argument.assumingMemoryBound(to: v4l2_frmsizeenum.self)
            guard let format = formats.first(where: { $0.fourcc == size.pointee.pixel_format }),
                Int(size.pointee.index) < format.sizes.count
            else { return -EINVAL }
            let chosen = format.sizes[Int(size.pointee.index)]
            size.pointee.type = LAVIT_FRMSIZE_TYPE_DISCRETE
            size.pointee.discrete = v4l2_frmsize_discrete(width: UInt32(chosen.width), height: UInt32(chosen.height))
        case LAVIT_VIDIOC_S_FMT:
            guard !streaming, buffers.isEmpty else { return -EBUSY }
            let format = argument.assumingMemoryBound(to: v4l2_format.self)
            setFormat(&format.pointee.fmt.pix)
        case LAVIT_VIDIOC_S_PARM:
            guard let maxFramesPerSecond else { return -ENOTTY }
            let parameters = argument.assumingMemoryBound(to: v4l2_streamparm.self)
            let asked = parameters.pointee.parm.capture.timeperframe
            let rate = asked.numerator == 0 ? maxFramesPerSecond : min(maxFramesPerSecond, asked.denominator / asked.numerator)
            parameters.pointee.parm.capture.capability = LAVIT_CAP_TIMEPERFRAME
            parameters.pointee.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: max(rate, 1))
        case LAVIT_VIDIOC_REQBUFS:
            let request = argument.assumingMemoryBound(to: v4l2_requestbuffers.self)
            guard !streaming, request.pointee.memory == LAVIT_MEMORY_MMAP else { return -EINVAL }
            freeBuffers()
            let count = grantedBufferCount ?? min(max(request.pointee.count, 2), 16)
            let length = bufferLength ?? current.sizeImage
            let stride = (length + page - 1) / page * page
            for index in 0..<Int(count) {
                let memory = UnsafeMutableRawPointer.allocate(byteCount: max(length, 1), alignment: 64)
                buffers.append(Buffer(memory: memory, length: length, offset: index * stride))
            }
            request.pointee.count = count
        case LAVIT_VIDIOC_QUERYBUF:
            let buffer = argument.assumingMemoryBound(to: v4l2_buffer.self)
            let index = Int(buffer.pointee.index)
            guard index < buffers.count else { return -EINVAL }
            buffer.pointee.length = UInt32(buffers[index].length)
            buffer.pointee.m.offset = UInt32(buffers[index].offset)
        case LAVIT_VIDIOC_QBUF:
            let index = Int(argument.assumingMemoryBound(to: v4l2_buffer.self).pointee.index)
            guard index < buffers.count, !queued.contains(index), !done.contains(index) else { return -EINVAL }
            queued.append(index)
        case LAVIT_VIDIOC_DQBUF:
            guard streaming else { return -EINVAL }
            guard !done.isEmpty else { return -EAGAIN }
            let index = done.removeFirst()
            let filled = buffers[index]
            let buffer = argument.assumingMemoryBound(to: v4l2_buffer.self)
            buffer.pointee.index = UInt32(index)
            buffer.pointee.bytesused = filled.bytesused
            buffer.pointee.length = UInt32(filled.length)
            buffer.pointee.sequence = filled.sequence
            buffer.pointee.flags = filled.flags
            buffer.pointee.timestamp = timeval(
                tv_sec: Int(filled.timestamp / 1_000_000_000), tv_usec: Int(filled.timestamp % 1_000_000_000 / 1000))
        case LAVIT_VIDIOC_STREAMON:
            guard !buffers.isEmpty else { return -EINVAL }
            streaming = true
        case LAVIT_VIDIOC_STREAMOFF:
            streamOffs += 1
            stop()
        default:
            return -ENOTTY
        }
        return 0
    }

    /// Nearest offered size by area, as many drivers pick.
    private func setFormat(_ pix: inout v4l2_pix_format) {
        let format = formats.first { $0.fourcc == pix.pixelformat } ?? formats[0]
        let asked = Int(pix.width) * Int(pix.height)
        let size = format.sizes.min { abs($0.width * $0.height - asked) < abs($1.width * $1.height - asked) }!
        let bytesPerLine = format.fourcc == Self.yuyv ? 2 * size.width + rowPadding : 0
        let sizeImage = format.fourcc == Self.yuyv ? bytesPerLine * size.height : size.width * size.height * 2
        current = (format.fourcc, size.width, size.height, bytesPerLine, sizeImage)
        pix.pixelformat = format.fourcc
        pix.width = UInt32(size.width)
        pix.height = UInt32(size.height)
        pix.bytesperline = UInt32(bytesPerLine)
        pix.sizeimage = UInt32(sizeImage)
        if format.fourcc == Self.yuyv { yuyvFrame = Self.yuyvPattern(width: size.width, height: size.height, bytesPerLine: bytesPerLine) }
    }

    /// A luma ramp with coloured bands, so an encoded and decoded frame can be checked loosely.
    public static func yuyvPattern(width: Int, height: Int, bytesPerLine: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: bytesPerLine * height)
        for y in 0..<height {
            for pair in 0..<(width / 2) {
                let at = y * bytesPerLine + 4 * pair
                bytes[at] = UInt8(16 + (2 * pair * 219) / max(width - 1, 1))
                bytes[at + 1] = y < height / 2 ? 90 : 200
                bytes[at + 2] = UInt8(16 + ((2 * pair + 1) * 219) / max(width - 1, 1))
                bytes[at + 3] = 128
            }
        }
        return bytes
    }

    private func stop() {
        streaming = false
        queued.removeAll()
        done.removeAll()
    }

    private func freeBuffers() {
        for buffer in buffers { buffer.memory.deallocate() }
        buffers.removeAll()
    }

    private func interrupted() -> Bool {
        guard interrupts > 0 else { return false }
        interrupts -= 1
        interruptsDelivered += 1
        return true
    }

    // MARK: SystemCalls: poll and the clock

    public func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeoutMilliseconds: Int32) -> Int32 {
        guard count == 1, fds.pointee.fd == openDescriptor, openDescriptor >= 0 else {
            return live.poll(fds, count, timeoutMilliseconds)
        }
        if interrupted() { return -EINTR }
        fds.pointee.revents = 0
        if !present {
            fds.pointee.revents = Int16(POLLERR | POLLHUP)
            return 1
        }
        if spuriousWakeups > 0 {
            spuriousWakeups -= 1
            fds.pointee.revents = Int16(POLLIN)
            return 1
        }
        if done.isEmpty && streaming && !stalled { capture(framesPerPoll) }
        if !done.isEmpty {
            fds.pointee.revents = Int16(POLLIN)
            return 1
        }
        monotonic += UInt64(max(timeoutMilliseconds, 0)) * 1_000_000
        return 0
    }

    public func clockGetTime(_ clock: clockid_t, _ time: UnsafeMutablePointer<timespec>) -> Int32 {
        let nanoseconds = clock == CLOCK_REALTIME ? UInt64(realtimeOffset) + monotonic : monotonic
        time.pointee = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        return 0
    }

    public func clockSleep(_ clock: clockid_t, until deadline: UnsafePointer<timespec>) -> Int32 {
        let target = UInt64(deadline.pointee.tv_sec) * 1_000_000_000 + UInt64(deadline.pointee.tv_nsec)
        monotonic = max(monotonic, target)
        return 0
    }

    // MARK: SystemCalls: everything else is real

    public func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 { live.open(path, flags, mode) }
    public func close(_ fd: Int32) -> Int32 { live.close(fd) }
    public func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { live.read(fd, buffer, count) }
    public func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { live.write(fd, buffer, count) }
    public func fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32 { live.fstat(fd, info) }
    public func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 { live.socket(domain, type, proto) }
    public func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { live.bind(fd, address, length) }
    public func listen(_ fd: Int32, _ backlog: Int32) -> Int32 { live.listen(fd, backlog) }
    public func accept(_ fd: Int32, _ flags: Int32) -> Int32 { live.accept(fd, flags) }
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        live.connect(fd, address, length)
    }
    public func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
        live.send(fd, buffer, count, flags)
    }
}
