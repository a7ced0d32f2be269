#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// The kernel as lavit sees it: the seam where tests replace a camera or inject `ENODEV`, `EIO`,
/// `EAGAIN`, short reads and timeouts. Each call returns what the kernel returns, or `-errno` on
/// failure, as the raw system-call ABI does, so a fake needs no thread-local `errno`. Callers use
/// `System`, which retries `EINTR` and throws `Errno`.
///
/// Video devices go through libv4l2 (`v4l2_open` and friends), which converts formats a camera
/// lacks and works around driver quirks; everything else goes straight to libc.
public protocol SystemCalls: Sendable {
    func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32
    func close(_ fd: Int32) -> Int32
    func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int
    func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int
    func fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32
    func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeoutMilliseconds: Int32) -> Int32

    func deviceOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32
    func deviceClose(_ fd: Int32) -> Int32
    func deviceIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32
    /// The mapping, or nil with the errno.
    func deviceMmap(_ length: Int, _ fd: Int32, _ offset: Int) -> (UnsafeMutableRawPointer?, Int32)
    func deviceMunmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int32

    func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32
    func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32
    func listen(_ fd: Int32, _ backlog: Int32) -> Int32
    func accept(_ fd: Int32, _ flags: Int32) -> Int32
    func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32
    func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int

    func clockGetTime(_ clock: clockid_t, _ time: UnsafeMutablePointer<timespec>) -> Int32
    /// `clock_nanosleep` to an absolute time: 0, or -errno (`-EINTR` when a signal woke it).
    func clockSleep(_ clock: clockid_t, until deadline: UnsafePointer<timespec>) -> Int32
    func pipe(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
    func unlink(_ path: UnsafePointer<CChar>) -> Int32
    func chmod(_ path: UnsafePointer<CChar>, _ mode: mode_t) -> Int32
}

/// The real kernel, for every conformer: a fake that emulates only a device or a socket keeps
/// real time and real files without saying so, and overrides what it wants to control.
extension SystemCalls {
    public func clockGetTime(_ clock: clockid_t, _ time: UnsafeMutablePointer<timespec>) -> Int32 {
        clock_gettime(clock, time) == 0 ? 0 : -errno
    }

    public func clockSleep(_ clock: clockid_t, until deadline: UnsafePointer<timespec>) -> Int32 {
        -clock_nanosleep(clock, TIMER_ABSTIME, deadline, nil)
    }
}

/// The real kernel.
public struct LiveSystemCalls: SystemCalls {
    public init() {}

    @inline(__always)
    private func result<T: BinaryInteger>(_ value: T) -> T { value < 0 ? T(-errno) : value }

    public func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
        result(Glibc.open(path, flags, mode))
    }
    public func close(_ fd: Int32) -> Int32 { result(Glibc.close(fd)) }
    public func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        result(Glibc.read(fd, buffer, count))
    }
    public func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        result(Glibc.write(fd, buffer, count))
    }
    public func fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32 { result(Glibc.fstat(fd, info)) }
    public func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeoutMilliseconds: Int32) -> Int32 {
        result(Glibc.poll(fds, nfds_t(count), timeoutMilliseconds))
    }

    public func deviceOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 {
        result(lavit_v4l2_open(path, flags))
    }
    public func deviceClose(_ fd: Int32) -> Int32 { result(lavit_v4l2_close(fd)) }
    public func deviceIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32 {
        result(lavit_v4l2_ioctl(fd, request, argument))
    }
    public func deviceMmap(_ length: Int, _ fd: Int32, _ offset: Int) -> (UnsafeMutableRawPointer?, Int32) {
        let address = lavit_v4l2_mmap(length, fd, Int64(offset))
        if address == nil || address == UnsafeMutableRawPointer(bitPattern: -1) { return (nil, errno) }
        return (address, 0)
    }
    public func deviceMunmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int32 {
        result(lavit_v4l2_munmap(address, length))
    }

    public func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 {
        result(Glibc.socket(domain, type, proto))
    }
    public func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        result(Glibc.bind(fd, address, length))
    }
    public func listen(_ fd: Int32, _ backlog: Int32) -> Int32 { result(Glibc.listen(fd, backlog)) }
    public func accept(_ fd: Int32, _ flags: Int32) -> Int32 { result(lavit_accept4(fd, flags)) }
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        result(Glibc.connect(fd, address, length))
    }
    public func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
        result(Glibc.send(fd, buffer, count, flags))
    }
}
