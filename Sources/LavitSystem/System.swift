#if canImport(Glibc)
import Glibc
#endif

/// lavit's one system-call layer. Every call retries `EINTR` and throws `Errno`; what it calls is
/// `calls`, the real kernel unless a test passed a fake.
///
/// Programmer errors (`EBADF`, `EFAULT`) are not special-cased: they throw like any other code
/// and the caller's error message names them, which is enough to find the bug.
public struct System: Sendable {
    public let calls: any SystemCalls

    public init(_ calls: any SystemCalls) { self.calls = calls }

    /// The real kernel.
    public static let live = System(LiveSystemCalls())

    @inline(__always)
    func retrying<T: FixedWidthInteger & SignedInteger>(_ name: String, _ body: () -> T) throws(Errno) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            if result != -T(EINTR) { throw Errno(Int32(-result), call: name) }
        }
    }

    public func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        try retrying("open") { calls.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Never retried: Linux frees the descriptor even when close reports `EINTR`.
    public func close(_ fd: Int32) { _ = calls.close(fd) }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return try retrying("read") { calls.read(fd, base, buffer.count) }
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return try retrying("write") { calls.write(fd, base, buffer.count) }
    }

    /// Reads until `buffer` is full or the file ends: short reads are continued, not errors.
    public func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` to a blocking descriptor, continuing after short writes.
    public func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(Errno) {
        var done = 0
        while done < buffer.count {
            done += try write(fd, from: UnsafeRawBufferPointer(rebasing: buffer[done...]))
        }
    }

    public func fstat(_ fd: Int32) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying("fstat") { calls.fstat(fd, &info) }
        return info
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for events on `fds`; the number ready,
    /// 0 on timeout. An interrupted poll is retried with the full timeout again, which only ever
    /// lengthens a wait by one interval.
    public func poll(_ fds: UnsafeMutableBufferPointer<pollfd>, timeoutMilliseconds: Int32) throws(Errno) -> Int {
        guard let base = fds.baseAddress else { return 0 }
        return Int(try retrying("poll") { calls.poll(base, fds.count, timeoutMilliseconds) })
    }

    // MARK: Files

    /// Opens a regular file for reading without ever blocking: `O_NONBLOCK` keeps a FIFO from
    /// waiting for a writer, and anything but a regular file is refused before a byte is read.
    /// Returns the descriptor, in blocking mode again, and the size.
    public func openRegularFile(_ path: String) throws(FileReadError) -> (fd: Int32, size: Int) {
        let fd: Int32
        do throws(Errno) { fd = try open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY) } catch { throw .system(error) }
        do throws(FileReadError) {
            let info: stat
            do throws(Errno) { info = try fstat(fd) } catch { throw .system(error) }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFREG else { throw .notRegular(kind: Self.fileKind(kind)) }
            _ = fcntl(fd, F_SETFL, O_RDONLY)
            return (fd, Int(info.st_size))
        } catch {
            close(fd)
            throw error
        }
    }

    /// The whole of a regular file, refused if it is over `limit` bytes. Reads to the end rather
    /// than trusting `st_size`, which is 0 for `/proc` files and stale for a file being written.
    public func readFile(_ path: String, limit: Int) throws(FileReadError) -> [UInt8] {
        let (fd, size) = try openRegularFile(path)
        defer { close(fd) }
        guard size <= limit else { throw .tooLarge(size: size, limit: limit) }
        // One spare byte so a file of exactly `size` bytes ends on a read of 0, not a regrow.
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var count = 0
        while true {
            if count == bytes.count {
                guard count <= limit else { throw .tooLarge(size: count, limit: limit) }
                bytes.append(contentsOf: repeatElement(0, count: min(max(count, 1 << 16), limit + 1 - count)))
            }
            let n: Int
            do throws(Errno) {
                n = try bytes.withUnsafeMutableBytes { buffer in
                    Result { () throws(Errno) in try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...])) }
                }.get()
            } catch { throw .system(error) }
            if n == 0 { break }
            count += n
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// The whole of a regular file into `buffer`, which it must fit; the byte count. Allocates
    /// nothing, so a source can replay files frame after frame from one buffer.
    public func readFile(_ path: String, into buffer: UnsafeMutableRawBufferPointer) throws(FileReadError) -> Int {
        let (fd, size) = try openRegularFile(path)
        defer { close(fd) }
        guard size <= buffer.count else { throw .tooLarge(size: size, limit: buffer.count) }
        let count: Int
        do throws(Errno) { count = try readFully(fd, into: buffer) } catch { throw .system(error) }
        if count == buffer.count {
            var probe: UInt8 = 0
            let more: Int
            do throws(Errno) {
                more = try withUnsafeMutableBytes(of: &probe) { byte in
                    Result { () throws(Errno) in try read(fd, into: byte) }
                }.get()
            } catch { throw .system(error) }
            if more > 0 { throw .tooLarge(size: count + more, limit: buffer.count) }
        }
        return count
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, and an
    /// fsync of the directory so the rename survives a power cut.
    public func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(Errno) {
        let temporary = path + ".tmp-\(getpid())"
        do throws(Errno) {
            let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
            do throws(Errno) {
                try bytes.withUnsafeBytes { buffer in Result { () throws(Errno) in try writeFully(fd, buffer) } }.get()
                _ = try retrying("fsync") { Glibc.fsync(fd) < 0 ? -errno : 0 }
            } catch {
                close(fd)
                throw error
            }
            close(fd)
            _ = try retrying("rename") { Glibc.rename(temporary, path) < 0 ? -errno : 0 }
        } catch {
            _ = Glibc.unlink(temporary)
            throw error
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        if let fd = try? open(directory, O_RDONLY | O_DIRECTORY) {
            _ = Glibc.fsync(fd)
            close(fd)
        }
    }

    static func fileKind(_ kind: mode_t) -> String {
        switch kind {
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "file type \(kind)"
        }
    }
}
