#if canImport(Glibc)
import Glibc
#endif

/// The real kernel for files and pipes, for fakes that leave them alone.
extension SystemCalls {
    public func pipe(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        // pipe2 is a GNU extension the Glibc module hides; the flags are set right after instead.
        guard Glibc.pipe(fds) == 0 else { return -errno }
        for i in 0..<2 {
            _ = fcntl(fds[i], F_SETFD, FD_CLOEXEC)
            if flags & O_NONBLOCK != 0 { _ = fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) }
        }
        return 0
    }

    public func unlink(_ path: UnsafePointer<CChar>) -> Int32 { Glibc.unlink(path) == 0 ? 0 : -errno }

    public func chmod(_ path: UnsafePointer<CChar>, _ mode: mode_t) -> Int32 { Glibc.chmod(path, mode) == 0 ? 0 : -errno }
}

extension System {
    /// A pipe, both ends close-on-exec, non-blocking if asked: (read end, write end).
    public func pipe(nonBlocking: Bool) throws(Errno) -> (read: Int32, write: Int32) {
        var fds: (Int32, Int32) = (-1, -1)
        _ = try retrying("pipe") {
            withUnsafeMutablePointer(to: &fds) { $0.withMemoryRebound(to: Int32.self, capacity: 2) { calls.pipe($0, nonBlocking ? O_NONBLOCK : 0) } }
        }
        return (fds.0, fds.1)
    }

    public func unlink(_ path: String) throws(Errno) {
        _ = try retrying("unlink") { calls.unlink(path) }
    }

    public func chmod(_ path: String, _ mode: mode_t) throws(Errno) {
        _ = try retrying("chmod") { calls.chmod(path, mode) }
    }

    /// Makes `fd` non-blocking: a listening socket inherited from systemd comes blocking, and one
    /// `accept` too many would then hang the loop that polls it.
    public func setNonBlocking(_ fd: Int32) throws(Errno) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw Errno(errno, call: "fcntl") }
    }

    /// Processors online now, at least 1: the default size of an inference thread pool.
    public static var onlineProcessorCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Sleeps the calling thread; a signal cuts it short, which callers that loop tolerate.
    public static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        _ = nanosleep(&request, nil)
    }

    /// Starts a joinable POSIX thread running `body`. lavit's blocking loops (capture, inference,
    /// publishing) each get one of these rather than a task: tasks on the cooperative pool must
    /// not block, and a frame path must not allocate.
    public func startThread(_ body: @escaping @Sendable () -> Void) throws(Errno) -> JoinableThread {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let argument = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
            box.body()
            return nil
        }, argument)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(argument).release()
            throw Errno(result, call: "pthread_create")
        }
        return JoinableThread(handle: handle)
    }
}

/// A thread from `System.startThread`; join it exactly once.
public struct JoinableThread: Sendable {
    let handle: pthread_t

    /// Waits for the thread's body to return.
    public func join() { _ = pthread_join(handle, nil) }
}
