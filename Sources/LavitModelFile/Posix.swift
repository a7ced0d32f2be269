#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: the call's name and errno.
struct Errno: Error {
    var call: String
    var code: Int32
}

/// Every system call of this module goes through here: one place retries EINTR and turns errno
/// into a typed error.
enum Posix {
    static func call<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            if errno != EINTR { throw Errno(call: name, code: errno) }
        }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        try call("open") { Glibc.open(path, flags, mode) }
    }

    static func close(_ fd: Int32) {
        // Linux frees the descriptor even when close fails with EINTR, so never retry it.
        _ = Glibc.close(fd)
    }

    static func fileSize(_ fd: Int32) throws(Errno) -> Int {
        var info = stat()
        _ = try call("fstat") { fstat(fd, &info) }
        return Int(info.st_size)
    }

    /// Reads until `buffer` is full or the file ends; returns the bytes read.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try call("read") { Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func writeFully(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var done = 0
        while done < bytes.count {
            done += try call("write") { bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) } }
        }
    }

    static func fsync(_ fd: Int32) throws(Errno) {
        _ = try call("fsync") { Glibc.fsync(fd) }
    }

    static func rename(_ from: String, _ to: String) throws(Errno) {
        _ = try call("rename") { Glibc.rename(from, to) }
    }

    static func unlink(_ path: String) {
        _ = Glibc.unlink(path)
    }
}
