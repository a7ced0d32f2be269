#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file read through the raw system calls, the one place that talks to the kernel: it
/// retries `EINTR` and turns `errno` into a message that names the path.
enum FileReader {
    static func readAll(path: String) throws(CheckpointError) -> [UInt8] {
        let fd = try retrying(path, "cannot open") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }

        var info = stat()
        _ = try retrying(path, "cannot stat") { fstat(fd, &info) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(path: path, kind: .io, reason: "not a regular file")
        }
        let size = Int(info.st_size)

        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let got = try retrying(path, "cannot read") {
                bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, size - filled) }
            }
            guard got > 0 else {
                throw CheckpointError(
                    path: path, kind: .io, reason: "file shrank while reading (\(filled) of \(size) bytes)")
            }
            filled += got
        }
        return bytes
    }

    /// Runs a call that returns -1 with `errno` on failure, retrying while a signal interrupts it.
    private static func retrying<T: BinaryInteger>(
        _ path: String, _ action: String, _ call: () -> T
    ) throws(CheckpointError) -> T {
        while true {
            let result = call()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw CheckpointError(path: path, kind: .io, reason: "\(action): \(String(cString: strerror(code)))")
        }
    }
}
