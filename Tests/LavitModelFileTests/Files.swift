import Glibc

/// A fresh directory under /tmp, removed with its files when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/lavit-modelfile-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestIOError(message: "mkdtemp failed") }
        path = String(cString: made)
    }

    deinit {
        for name in listing(path) { unlink(path + "/" + name) }
        rmdir(path)
    }
}

/// The names in a directory, sorted, without "." and "..".
func listing(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

struct TestIOError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw TestIOError(message: "cannot open \(path)") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw TestIOError(message: "cannot read \(path)") }
        if n == 0 { return bytes }
        bytes += chunk.prefix(n)
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw TestIOError(message: "cannot create \(path)") }
    defer { close(fd) }
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard n == bytes.count else { throw TestIOError(message: "short write to \(path)") }
}

/// Runs `/usr/bin/python3 -c script args...` and returns its exit status (or -1 if it died).
func runPython(_ script: String, _ arguments: [String]) throws -> Int32 {
    let argv = (["/usr/bin/python3", "-c", script] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid = pid_t()
    let rc = posix_spawn(&pid, "/usr/bin/python3", nil, nil, argv, environ)
    guard rc == 0 else { throw TestIOError(message: "posix_spawn failed: \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw TestIOError(message: "waitpid failed") }
    }
    return status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
}

/// Whether `/usr/bin/python3` runs and can import numpy, which the Python model-file reader needs:
/// without numpy these tests would fail, not skip.
let pythonHasNumpy: Bool = {
    access("/usr/bin/python3", X_OK) == 0 && ((try? runPython("import numpy", [])) ?? -1) == 0
}()
