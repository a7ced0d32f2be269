#if canImport(Glibc)
import Glibc
#endif

/// Video devices through libv4l2: the same EINTR retry and typed errors as every other call, so
/// the capture code and a fake camera in tests meet at one place.
extension System {
    /// Opens a device non-blocking (a dequeue with nothing ready then fails with `EAGAIN` instead
    /// of waiting) and close-on-exec.
    public func deviceOpen(_ path: String) throws(Errno) -> Int32 {
        try retrying("open") { calls.deviceOpen(path, O_RDWR | O_NONBLOCK | O_CLOEXEC) }
    }

    /// Never retried, as `close`.
    public func deviceClose(_ fd: Int32) { _ = calls.deviceClose(fd) }

    /// One ioctl; `name` (a literal, so naming it allocates nothing) goes into the error.
    public func deviceIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, name: String) throws(Errno) {
        _ = try retrying(name) { calls.deviceIoctl(fd, request, argument) }
    }

    /// As `deviceIoctl`, but `EAGAIN` (nothing ready on a non-blocking descriptor) is the answer
    /// false rather than an error: draining a queue ends that way on every frame.
    public func deviceIoctlUnlessWouldBlock(
        _ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, name: String
    ) throws(Errno) -> Bool {
        while true {
            let result = calls.deviceIoctl(fd, request, argument)
            if result >= 0 { return true }
            if result == -EAGAIN || result == -EWOULDBLOCK { return false }
            if result != -EINTR { throw Errno(-result, call: name) }
        }
    }

    /// Maps `length` bytes of a device buffer at `offset`, shared and read-write as V4L2 wants.
    public func deviceMmap(_ fd: Int32, length: Int, offset: Int) throws(Errno) -> UnsafeMutableRawPointer {
        while true {
            let (address, code) = calls.deviceMmap(length, fd, offset)
            if let address { return address }
            if code != EINTR { throw Errno(code, call: "mmap") }
        }
    }

    public func deviceMunmap(_ address: UnsafeMutableRawPointer, length: Int) { _ = calls.deviceMunmap(address, length) }
}
