#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed: its name and errno. Environmental failures (`ENODEV` after an
/// unplug, `EIO`, `EAGAIN`) reach callers as this error, who decide whether to reopen or give up;
/// `EINTR` never does, `System` retries it.
public struct Errno: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var call: String

    public init(_ code: Int32, call: String) {
        self.code = code
        self.call = call
    }

    /// The C library's text for the code, e.g. "No such device".
    public var message: String { String(cString: strerror(code)) }

    public var description: String { "\(call) failed: \(message) (errno \(code))" }

    /// `catch let e as Errno where e == ENODEV` reads better as `catch ENODEV as ...`; this lets a
    /// switch match codes: `case ENODEV, EIO:`.
    public static func ~= (code: Int32, error: Errno) -> Bool { error.code == code }
}

/// Why a whole file could not be read.
public enum FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    case system(Errno)
    /// A FIFO, device, socket or directory: reading one can block forever or never end.
    case notRegular(kind: String)
    case tooLarge(size: Int, limit: Int)

    public var description: String {
        switch self {
        case let .system(errno): errno.description
        case let .notRegular(kind): "not a regular file (\(kind))"
        case let .tooLarge(size, limit): "file is \(size) bytes, more than the \(limit) allowed"
        }
    }
}
