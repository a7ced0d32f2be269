#if canImport(Glibc)
import Glibc
#endif

/// Every system call of this module goes through here: one place retries EINTR and turns errno
/// into a typed error.
enum Posix {
    static func call<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(ImageError.Reason) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            if errno != EINTR { throw .system(call: name, errno: errno) }
        }
    }

    /// The whole file, refusing anything over `limit` bytes. Works for files whose size fstat
    /// does not know (pipes, /proc).
    static func readFile(_ path: String, limit: Int) throws(ImageError.Reason) -> [UInt8] {
        let fd = try call("open") { open(path, O_RDONLY | O_CLOEXEC) }
        // Linux frees the descriptor even when close fails with EINTR, so never retry it.
        defer { _ = close(fd) }
        var info = stat()
        _ = try call("fstat") { fstat(fd, &info) }
        if Int(info.st_size) > limit { throw .fileTooLarge(limit: limit) }
        // One spare byte so a file of exactly st_size bytes ends on a read of 0, not a regrow.
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                if count > limit { throw .fileTooLarge(limit: limit) }
                bytes.append(contentsOf: repeatElement(0, count: min(max(count, 1 << 16), limit + 1 - count)))
            }
            let n = try call("read") {
                bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}
