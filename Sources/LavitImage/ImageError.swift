#if canImport(Glibc)
import Glibc
#endif

/// Why an image could not be read or converted. Prints as one line: the file (when there is
/// one), then the cause.
public struct ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path, or nil for bytes that came from memory (a camera frame).
    public var file: String?
    public var reason: Reason

    public init(file: String? = nil, _ reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String { file.map { "\($0): \(reason)" } ?? reason.description }

    public enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        case system(call: String, errno: Int32)
        case fileTooLarge(limit: Int)
        /// A FIFO, device or directory where an image file was expected.
        case notRegularFile(String)
        case empty
        /// Neither signature matched; the first bytes, and the format they belong to if known.
        case unknownFormat(leadingBytes: [UInt8], looksLike: String?)
        /// No FF D9 at the end (after trailing zero padding): the frame or file was cut short.
        case truncatedJPEG
        /// TurboJPEG refused the file or warned about it; its message.
        case badJPEG(String)
        /// libpng refused the file; its message.
        case badPNG(String)
        case unsupportedJPEGColorSpace(Int32)
        case tooLarge(width: Int, height: Int)
        case badYUYVFrame(String)

        public var description: String {
            switch self {
            case let .system(call, errno):
                "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
            case let .fileTooLarge(limit):
                "file is larger than \(limit) bytes, too large for an image"
            case let .notRegularFile(kind):
                "not a regular file (\(kind))"
            case .empty:
                "empty file"
            case let .unknownFormat(bytes, looksLike):
                "not a JPEG or PNG (starts with \(hex(bytes))" + (looksLike.map { ": \($0))" } ?? ")")
            case .truncatedJPEG:
                "truncated JPEG (no end-of-image marker)"
            case let .badJPEG(message):
                "bad JPEG (\(message))"
            case let .badPNG(message):
                "bad PNG (\(message))"
            case let .unsupportedJPEGColorSpace(code):
                "unsupported JPEG colour space (TurboJPEG code \(code))"
            case let .tooLarge(width, height):
                "image too large (\(width)x\(height); at most \(ImageLimits.maxSide) per side "
                    + "and \(ImageLimits.maxPixels) pixels)"
            case let .badYUYVFrame(detail):
                "bad YUYV frame (\(detail))"
            }
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { byte in
        let digits = String(byte, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: " ")
}

/// Library messages may carry newlines or control bytes; an error stays one line.
func oneLine(_ text: String) -> String {
    String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
}
