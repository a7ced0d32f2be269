import Foundation
import Glibc
@testable import LavitDaemon
import LavitCapture
import LavitFakes
import LavitSystem
import LavitTestSupport

/// A log that keeps its lines, for tests to read. The log holds the storage strongly, so a
/// `LogLines().log` that outlives its `LogLines` still works.
final class LogLines: @unchecked Sendable {
    final class Storage: @unchecked Sendable {
        var lines: [String] = []
        let lock = NSLock()
    }
    private let storage = Storage()
    var all: [String] { storage.lock.withLock { storage.lines } }
    var log: Log {
        let storage = storage
        return Log(journal: true) { line in storage.lock.withLock { storage.lines.append(line) } }
    }
}

func temporarySocket(_ name: String) -> String { "/tmp/lavitd-test-\(getpid())-\(name).sock" }

/// A configuration for the shipped model serving `source` on a temporary socket.
func testConfig(_ name: String, source: String = "/dev/video0") -> DaemonConfig {
    var config = DaemonConfig()
    config.model = RepositoryPaths.shippedModel
    config.socket = temporarySocket(name)
    config.source = source
    return config
}

/// A fake camera offering exactly one format at one size; MJPEG frames are `jpeg`.
func camera(fourcc: UInt32, width: Int, height: Int, jpeg: [UInt8] = []) -> FakeCamera {
    let camera = FakeCamera(formats: [FakeCamera.Format(fourcc: fourcc, sizes: [(width, height)])])
    camera.jpeg = jpeg
    return camera
}

/// A client connection that reads whole NDJSON lines, each decoded as a JSON object.
final class TestClient {
    let fd: Int32
    private var pending: [UInt8] = []

    init(_ path: String) throws { fd = try System.live.connectUnix(path) }
    deinit { close(fd) }

    func send(_ text: String) { _ = text.withCString { Glibc.write(fd, $0, strlen($0)) } }

    /// The next line within `milliseconds`, or nil.
    func line(within milliseconds: Int32 = 5000) -> [String: Any]? {
        let deadline = System.live.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                return (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
            }
            let now = System.live.monotonicNanoseconds()
            guard now < deadline else { return nil }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, Int32((deadline - now) / 1_000_000) + 1) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { return nil }
            pending += buffer[..<n]
        }
    }

    /// Lines until one of `class`, which is returned; nil if none comes in time.
    func next(_ kind: String, within milliseconds: Int32 = 5000, where matches: ([String: Any]) -> Bool = { _ in true }) -> [String: Any]? {
        let deadline = System.live.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
        while System.live.monotonicNanoseconds() < deadline {
            guard let message = line(within: milliseconds) else { return nil }
            if message["class"] as? String == kind && matches(message) { return message }
        }
        return nil
    }
}

/// lavitd over a fake camera, its publisher started (stop it when done), not yet running a loop:
/// tests drive `FrameLoop` steps themselves.
func daemonOnFakeCamera(_ fake: FakeCamera, name: String, retryMilliseconds: Int = 1000, log: Log = LogLines().log) throws -> Daemon {
    var config = testConfig(name)
    config.source = fake.path
    config.retryMilliseconds = retryMilliseconds
    let source = try CameraSource(
        CameraConfiguration(path: fake.path, size: .atLeast(width: 28, height: 28), retryIntervalMilliseconds: retryMilliseconds),
        system: System(fake), openNow: false)
    let daemon = try Daemon(config: config, log: log, source: source)
    daemon.publisher.start()
    return daemon
}
