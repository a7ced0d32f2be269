#if canImport(Glibc)
import Glibc
#endif

/// Unix stream sockets, through the same seam as everything else.
extension System {
    /// `sockaddr_un` for `path`, or `ENAMETOOLONG` (the kernel's limit is 107 bytes).
    static func unixAddress(_ path: String) throws(Errno) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { throw Errno(ENAMETOOLONG, call: "socket path") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private func withAddress<T>(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    public func unixStreamSocket(nonBlocking: Bool) throws(Errno) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        return try retrying("socket") { calls.socket(AF_UNIX, type, 0) }
    }

    /// A listening socket bound at `path`. The caller removes a stale file first.
    public func listenUnix(_ path: String, backlog: Int32 = 64) throws(Errno) -> Int32 {
        let address = try Self.unixAddress(path)
        let fd = try unixStreamSocket(nonBlocking: true)
        do throws(Errno) {
            _ = try retrying("bind") { withAddress(address) { calls.bind(fd, $0, $1) } }
            _ = try retrying("listen") { calls.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A datagram socket connected to `path`, for sd_notify: a leading `@` names Linux's abstract
    /// namespace (systemd may pass either form in `$NOTIFY_SOCKET`). Non-blocking, so a
    /// notification can never stall the frame loop.
    public func connectUnixDatagram(_ path: String) throws(Errno) -> Int32 {
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count > 1 || (!abstract && !bytes.isEmpty), bytes.count < capacity,
              !bytes.dropFirst().contains(0), abstract || bytes[0] != 0
        else { throw Errno(ENAMETOOLONG, call: "notify socket path") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        // An abstract name is exactly its bytes; a path may carry its terminating NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (abstract ? 0 : 1))
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = try retrying("socket") { calls.socket(AF_UNIX, type, 0) }
        do throws(Errno) {
            _ = try retrying("connect") {
                withUnsafePointer(to: address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { calls.connect(fd, $0, length) }
                }
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A blocking client connection to `path`.
    public func connectUnix(_ path: String) throws(Errno) -> Int32 {
        let address = try Self.unixAddress(path)
        let fd = try unixStreamSocket(nonBlocking: false)
        do throws(Errno) {
            _ = try retrying("connect") { withAddress(address) { calls.connect(fd, $0, $1) } }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A new connection from a listening socket, non-blocking, or nil when none is waiting.
    public func accept(_ fd: Int32) throws(Errno) -> Int32? {
        let result = calls.accept(fd, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        if result >= 0 { return result }
        if result == -EAGAIN || result == -EWOULDBLOCK || result == -EINTR || result == -ECONNABORTED { return nil }
        throw Errno(-result, call: "accept")
    }

    /// Sends what the socket takes now without blocking and without SIGPIPE; the count sent,
    /// 0 when its buffer is full.
    public func sendNow(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        while true {
            let n = calls.send(fd, base, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            if n == -Int(EINTR) { continue }
            if n == -Int(EAGAIN) || n == -Int(EWOULDBLOCK) { return 0 }
            throw Errno(Int32(-n), call: "send")
        }
    }

    /// Removes `path` if it is a socket nobody listens on (a lavitd that died without cleaning
    /// up). Throws `EADDRINUSE` if a live process accepts connections there, and refuses to touch
    /// anything that is not a socket.
    public func removeStaleSocket(_ path: String) throws(Errno) {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            throw Errno(errno, call: "lstat")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw Errno(EEXIST, call: "socket path is not a socket, bind") }
        let address = try Self.unixAddress(path)
        let fd = try unixStreamSocket(nonBlocking: true)
        defer { close(fd) }
        let result = withAddress(address) { calls.connect(fd, $0, $1) }
        if result == 0 || result == -EINPROGRESS || result == -EAGAIN { throw Errno(EADDRINUSE, call: "bind (another lavitd serves this socket)") }
        if result == -ECONNREFUSED || result == -ENOENT {
            if Glibc.unlink(path) != 0 && errno != ENOENT { throw Errno(errno, call: "unlink stale socket") }
            return
        }
        throw Errno(-result, call: "connect to existing socket")
    }
}
