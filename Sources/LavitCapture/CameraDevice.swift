#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import LavitImage
import LavitSystem

/// One open, negotiated, streaming V4L2 device: its descriptor, its mapped buffers and the format
/// the driver agreed to. Everything is allocated here, at open; `close` undoes it all.
final class CameraDevice {
    struct MappedBuffer {
        var address: UnsafeMutableRawPointer
        var length: Int
    }

    let fd: Int32
    private let system: System
    private(set) var format = PixelFormat.mjpeg
    private(set) var width = 0
    private(set) var height = 0
    /// YUYV's stride; unused for MJPEG.
    private(set) var bytesPerLine = 0
    /// "MJPG 1280x720 @ 30 fps", for the online state.
    private(set) var summary = ""
    private(set) var buffers: [MappedBuffer] = []
    private var streaming = false
    private var closed = false

    /// Larger buffers are not frames lavit could use: a driver claiming one is wrong.
    static let maxBufferBytes = 256 << 20
    /// VIDEO_MAX_FRAME: no driver may hand out more buffers.
    static let maxDriverBuffers = 32
    /// Enumeration stops here even if a driver never says EINVAL.
    static let maxEnumeration = 256

    private init(fd: Int32, system: System) {
        self.fd = fd
        self.system = system
    }

    deinit { close() }

    /// Opens `configuration.path`, checks it can stream video, negotiates format, size and rate,
    /// maps and queues the buffers and starts streaming.
    static func open(_ configuration: CameraConfiguration, system: System) throws(CaptureError.Reason) -> CameraDevice {
        let fd: Int32
        do throws(Errno) { fd = try system.deviceOpen(configuration.path) } catch { throw .system(error) }
        let device = CameraDevice(fd: fd, system: system)
        do throws(CaptureError.Reason) {
            try device.negotiate(configuration)
            try device.startStreaming(bufferCount: configuration.bufferCount)
        } catch {
            device.close()
            throw error
        }
        return device
    }

    /// STREAMOFF, unmap, close. Errors are ignored: after an unplug every call fails, and there
    /// is nothing left to do but let go. Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        var type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        if streaming { try? system.deviceIoctl(fd, LAVIT_VIDIOC_STREAMOFF, &type, name: "VIDIOC_STREAMOFF") }
        streaming = false
        for buffer in buffers { system.deviceMunmap(buffer.address, length: buffer.length) }
        buffers = []
        system.deviceClose(fd)
    }

    /// Hands buffer `index` back to the driver to fill.
    func queue(_ index: Int) throws(Errno) {
        var buffer = v4l2_buffer()
        buffer.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = LAVIT_MEMORY_MMAP
        buffer.index = UInt32(truncatingIfNeeded: index)
        try system.deviceIoctl(fd, LAVIT_VIDIOC_QBUF, &buffer, name: "VIDIOC_QBUF")
    }

    /// The next filled buffer, or false when none is ready.
    func dequeue(into buffer: inout v4l2_buffer) throws(Errno) -> Bool {
        buffer = v4l2_buffer()
        buffer.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = LAVIT_MEMORY_MMAP
        return try system.deviceIoctlUnlessWouldBlock(fd, LAVIT_VIDIOC_DQBUF, &buffer, name: "VIDIOC_DQBUF")
    }

    // MARK: Negotiation

    private func ioctl(_ request: UInt, _ argument: UnsafeMutableRawPointer, _ name: String) throws(CaptureError.Reason) {
        do throws(Errno) { try system.deviceIoctl(fd, request, argument, name: name) } catch { throw .system(error) }
    }

    private func negotiate(_ configuration: CameraConfiguration) throws(CaptureError.Reason) {
        var capability = v4l2_capability()
        try ioctl(LAVIT_VIDIOC_QUERYCAP, &capability, "VIDIOC_QUERYCAP")
        // device_caps describes this node; capabilities the whole physical device.
        let caps = capability.capabilities & LAVIT_CAP_DEVICE_CAPS != 0 ? capability.device_caps : capability.capabilities
        guard caps & LAVIT_CAP_VIDEO_CAPTURE != 0, caps & LAVIT_CAP_STREAMING != 0 else {
            throw .notACaptureDevice(capabilities: caps)
        }

        let offered = try enumerateFormats()
        guard let chosen = preferredFormat(offered) else { throw .noUsableFormat(offered: offered) }
        let sizes = try enumerateSizes(chosen)
        guard let size = sizes.choose(configuration.size) else {
            let (width, height) = configuration.size.dimensions
            throw .sizeNotOffered(width: width, height: height, format: chosen, offered: sizes.description)
        }
        try setFormat(chosen, size)
        if case let .exactly(width, height) = configuration.size, self.width != width || self.height != height {
            throw .sizeNotOffered(
                width: width, height: height, format: chosen, offered: "the driver chose \(self.width)x\(self.height)")
        }
        let rate = setFrameRate(configuration.framesPerSecond)
        summary = "\(format) \(width)x\(height)" + (rate.map { " @ \($0) fps" } ?? "")
    }

    private func enumerateFormats() throws(CaptureError.Reason) -> [PixelFormat] {
        var formats: [PixelFormat] = []
        for index in 0..<Self.maxEnumeration {
            var description = v4l2_fmtdesc()
            description.index = UInt32(index)
            description.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
            do throws(Errno) {
                try system.deviceIoctl(fd, LAVIT_VIDIOC_ENUM_FMT, &description, name: "VIDIOC_ENUM_FMT")
            } catch {
                if error.code == EINVAL { break }
                throw .system(error)
            }
            let format = PixelFormat(rawValue: description.pixelformat)
            if !formats.contains(format) { formats.append(format) }
        }
        return formats
    }

    private func enumerateSizes(_ format: PixelFormat) throws(CaptureError.Reason) -> OfferedSizes {
        var discrete: [(UInt32, UInt32)] = []
        for index in 0..<Self.maxEnumeration {
            var size = v4l2_frmsizeenum()
            size.index = UInt32(index)
            size.pixel_format = format.rawValue
            do throws(Errno) {
                try system.deviceIoctl(fd, LAVIT_VIDIOC_ENUM_FRAMESIZES, &size, name: "VIDIOC_ENUM_FRAMESIZES")
            } catch {
                // EINVAL ends the list; ENOTTY: the driver does not enumerate at all.
                if error.code == EINVAL || error.code == ENOTTY { break }
                throw .system(error)
            }
            switch size.type {
            case LAVIT_FRMSIZE_TYPE_DISCRETE:
                discrete.append((size.discrete.width, size.discrete.height))
            case LAVIT_FRMSIZE_TYPE_STEPWISE, LAVIT_FRMSIZE_TYPE_CONTINUOUS:
                let s = size.stepwise
                return OfferedSizes.fromDriver(
                    minWidth: s.min_width, maxWidth: s.max_width, stepWidth: s.step_width,
                    minHeight: s.min_height, maxHeight: s.max_height, stepHeight: s.step_height)
            default:
                continue
            }
        }
        return OfferedSizes.fromDriver(discrete: discrete)
    }

    /// S_FMT, then checks what the driver says it set: it may change anything.
    private func setFormat(_ requested: PixelFormat, _ size: OfferedSizes.Size) throws(CaptureError.Reason) {
        var format = v4l2_format()
        format.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        format.fmt.pix.width = UInt32(size.width)
        format.fmt.pix.height = UInt32(size.height)
        format.fmt.pix.pixelformat = requested.rawValue
        format.fmt.pix.field = LAVIT_FIELD_ANY
        try ioctl(LAVIT_VIDIOC_S_FMT, &format, "VIDIOC_S_FMT")
        let pix = format.fmt.pix
        let agreed = PixelFormat(rawValue: pix.pixelformat)
        guard agreed == requested || (agreed.isJPEG && requested.isJPEG) else {
            throw .driver("asked for \(requested), the driver set \(agreed)")
        }
        let limit = UInt32(ImageLimits.maxSide)
        guard pix.width > 0, pix.height > 0, pix.width <= limit, pix.height <= limit else {
            throw .driver("the driver set a frame size of \(pix.width)x\(pix.height)")
        }
        self.format = agreed
        width = Int(pix.width)
        height = Int(pix.height)
        if agreed == .yuyv {
            guard width % 2 == 0 else { throw .driver("YUYV frames \(width) pixels wide (odd)") }
            // Some drivers leave bytesperline 0 for packed formats: then rows are not padded.
            let stride = pix.bytesperline == 0 ? 2 * width : Int(pix.bytesperline)
            guard stride >= 2 * width, stride * height <= Self.maxBufferBytes else {
                throw .driver("YUYV \(width)x\(height) with \(pix.bytesperline) bytes per line")
            }
            bytesPerLine = stride
        }
    }

    /// Best effort: many drivers ignore or lack S_PARM. The rate the driver reports, if any, as
    /// text ("30", "12.5").
    private func setFrameRate(_ framesPerSecond: Int) -> String? {
        var parameters = v4l2_streamparm()
        parameters.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(clamping: framesPerSecond))
        do throws(Errno) {
            try system.deviceIoctl(fd, LAVIT_VIDIOC_S_PARM, &parameters, name: "VIDIOC_S_PARM")
        } catch {
            return nil
        }
        let capture = parameters.parm.capture
        let (numerator, denominator) = (UInt64(capture.timeperframe.numerator), UInt64(capture.timeperframe.denominator))
        guard capture.capability & LAVIT_CAP_TIMEPERFRAME != 0, numerator > 0, denominator > 0 else { return nil }
        let tenths = denominator * 10 / numerator
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }

    // MARK: Buffers

    private func startStreaming(bufferCount: Int) throws(CaptureError.Reason) {
        var request = v4l2_requestbuffers()
        request.count = UInt32(bufferCount)
        request.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
        request.memory = LAVIT_MEMORY_MMAP
        try ioctl(LAVIT_VIDIOC_REQBUFS, &request, "VIDIOC_REQBUFS")
        // Drivers may give more than asked (a minimum of their own) or fewer (out of memory).
        guard request.count >= 2, request.count <= UInt32(Self.maxDriverBuffers) else {
            throw .driver("VIDIOC_REQBUFS gave \(request.count) buffers for \(bufferCount) requested")
        }
        let needed = format == .yuyv ? bytesPerLine * height : 1
        buffers.reserveCapacity(Int(request.count))
        for index in 0..<Int(request.count) {
            var buffer = v4l2_buffer()
            buffer.index = UInt32(index)
            buffer.type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
            buffer.memory = LAVIT_MEMORY_MMAP
            try ioctl(LAVIT_VIDIOC_QUERYBUF, &buffer, "VIDIOC_QUERYBUF")
            let length = Int(buffer.length)
            guard length >= needed, length <= Self.maxBufferBytes else {
                throw .driver("buffer \(index) is \(length) bytes; a \(format) \(width)x\(height) frame needs \(needed)")
            }
            let offset = Int(buffer.m.offset)
            guard offset.isMultiple(of: Int(getpagesize())) else {
                throw .driver("buffer \(index) is at offset \(offset), not on a page boundary")
            }
            let address: UnsafeMutableRawPointer
            do throws(Errno) {
                address = try system.deviceMmap(fd, length: length, offset: offset)
            } catch {
                throw .system(error)
            }
            buffers.append(MappedBuffer(address: address, length: length))
        }
        do throws(Errno) {
            for index in buffers.indices { try queue(index) }
            var type = LAVIT_BUF_TYPE_VIDEO_CAPTURE
            try system.deviceIoctl(fd, LAVIT_VIDIOC_STREAMON, &type, name: "VIDIOC_STREAMON")
        } catch {
            throw .system(error)
        }
        streaming = true
    }
}

extension FrameSize {
    var dimensions: (width: Int, height: Int) {
        switch self {
        case let .atLeast(width, height), let .exactly(width, height): (width, height)
        }
    }
}
