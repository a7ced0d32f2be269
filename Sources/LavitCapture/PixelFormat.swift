import CSystemShims

/// A V4L2 pixel format code (a fourcc), printed as its four characters.
public struct PixelFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let mjpeg = PixelFormat(rawValue: LAVIT_PIX_FMT_MJPEG)
    /// Some cameras call their MJPEG this; the frames are the same.
    public static let jpeg = PixelFormat(rawValue: LAVIT_PIX_FMT_JPEG)
    public static let yuyv = PixelFormat(rawValue: LAVIT_PIX_FMT_YUYV)

    var isJPEG: Bool { self == .mjpeg || self == .jpeg }

    /// "MJPG", "YUYV"; bytes outside printable ASCII (a driver's nonsense) as "?".
    public var description: String {
        var text = ""
        for shift in stride(from: 0, to: 32, by: 8) {
            let byte = UInt8(truncatingIfNeeded: rawValue >> UInt32(shift))
            text.append(byte >= 0x20 && byte < 0x7F ? Character(Unicode.Scalar(byte)) : "?")
        }
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }
}

/// A frame size request: the model's input as a minimum, or an explicit size.
public enum FrameSize: Sendable, Equatable {
    /// The smallest offered size at least this large in both sides; the largest if none is.
    case atLeast(width: Int, height: Int)
    /// Exactly this size, refused if the device does not offer it.
    case exactly(width: Int, height: Int)
}
