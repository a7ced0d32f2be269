#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// Why a source could not be set up, on one line: the source, then the cause. The same causes,
/// without the source, are the reasons of `.offline` states.
public struct CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var reason: Reason

    public init(source: String, _ reason: Reason) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }

    public enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        case system(Errno)
        /// QUERYCAP's capabilities lack video capture or streaming I/O.
        case notACaptureDevice(capabilities: UInt32)
        /// Neither MJPEG nor YUYV; what the device offers.
        case noUsableFormat(offered: [PixelFormat])
        /// An explicit size the device does not offer; the sizes it does, as text.
        case sizeNotOffered(width: Int, height: Int, format: PixelFormat, offered: String)
        /// The driver answered something impossible (a buffer count, length or format out of range).
        case driver(String)
        case configuration(String)
        case noImages(String)

        public var description: String {
            switch self {
            case let .system(errno):
                switch (errno.call, errno.code) {
                case ("open", ENOENT): "no such device or file"
                case ("open", EACCES), ("open", EPERM): "permission denied (is the user in the video group?)"
                case ("open", ENXIO), ("open", ENODEV): "no such device"
                case ("open", ENOTTY): "not a video device"
                case ("open", EBUSY), ("VIDIOC_STREAMON", EBUSY), ("VIDIOC_REQBUFS", EBUSY), ("VIDIOC_S_FMT", EBUSY):
                    "device busy (is another program capturing from it?)"
                default: errno.description
                }
            case let .notACaptureDevice(capabilities):
                "not a video capture device with streaming I/O (capabilities 0x" + String(capabilities, radix: 16) + ")"
            case let .noUsableFormat(offered):
                "offers " + (offered.isEmpty ? "no formats" : offered.map(\.description).joined(separator: ", "))
                    + "; lavit needs MJPG or YUYV"
            case let .sizeNotOffered(width, height, format, offered):
                "\(format) \(width)x\(height) is not offered; sizes: \(offered)"
            case let .driver(detail): "driver error: \(detail)"
            case let .configuration(detail): detail
            case let .noImages(detail): detail
            }
        }
    }
}
