import Foundation
import Glibc
import LavitCapture
@testable import LavitDaemon
import LavitImage
import LavitSystem
import LavitTestSupport
import Testing

/// The systemd side of lavitd, against stand-ins for systemd: a datagram socket where
/// `$NOTIFY_SOCKET` points, a listening socket passed as if by socket activation.
@Suite(.serialized) struct SystemdTests {
    /// systemd's end of `$NOTIFY_SOCKET`: a bound datagram socket collecting messages.
    final class NotifyListener {
        let path: String
        let fd: Int32

        init(_ name: String) throws {
            path = "/tmp/lavitd-notify-\(getpid())-\(name)"
            unlink(path)
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Messages received within `milliseconds`, in order.
        func messages(within milliseconds: Int32) -> [String] {
            var out: [String] = []
            let deadline = System.live.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
            while System.live.monotonicNanoseconds() < deadline {
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let left = Int32((deadline - System.live.monotonicNanoseconds()) / 1_000_000) + 1
                guard poll(&entry, 1, left) > 0 else { break }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { out.append(String(decoding: buffer[..<n], as: UTF8.self)) }
            }
            return out
        }
    }

    /// A source whose capture wedges: `nextFrame` blocks for `seconds`, as a hung driver would.
    final class WedgedSource: FrameSource {
        let name = "wedged"
        var state = SourceState.online("wedged")
        var counters = CaptureCounters()
        var onStateChange: ((SourceState) -> Void)?
        let seconds: UInt32
        init(seconds: UInt32) { self.seconds = seconds }
        func nextFrame(timeoutMilliseconds: Int) -> Frame? {
            sleep(seconds)
            return nil
        }
        func releaseFrame() {}
        func close() { state = .finished }
    }

    func fashionConfig(_ name: String) -> DaemonConfig {
        var config = testConfig(name, source: RepositoryPaths.fixtures + "/images/fashion_28x28.png")
        config.fps = 50
        return config
    }

    @Test func readyWatchdogAndStoppingReachTheNotifySocket() throws {
        let systemd = try NotifyListener("ready")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "200000"])
        #expect(notifier.watchdogInterval == 100_000_000)
        let daemon = try Daemon(config: fashionConfig("notify"), log: LogLines().log, notifier: notifier)
        let runner = try System.live.startThread { _ = daemon.run() }
        let running = systemd.messages(within: 2000)
        daemon.stop()
        runner.join()
        let after = systemd.messages(within: 300)
        let ready = try #require(running.first)
        #expect(ready.hasPrefix("READY=1\nSTATUS="), "the first message is READY: \(running)")
        let pings = running.filter { $0 == "WATCHDOG=1" }.count
        // One per 100 ms while frames flow: at most 21 in 2 s; at least a few even on a loaded machine.
        #expect(pings >= 3 && pings <= 21, "\(pings) pings in 2 s: \(running)")
        #expect(running.contains { $0.hasPrefix("STATUS=") && $0.contains("online") })
        #expect(after.contains("STOPPING=1"))
    }

    @Test func aWedgedCaptureStopsTheWatchdogPings() throws {
        let systemd = try NotifyListener("wedged")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "200000"])
        let source = WedgedSource(seconds: 2)
        let daemon = try Daemon(config: fashionConfig("wedged"), log: LogLines().log, source: source, notifier: notifier)
        let runner = try System.live.startThread { _ = daemon.run() }
        let messages = systemd.messages(within: 1500)
        daemon.stop()
        runner.join()
        #expect(messages.first?.hasPrefix("READY=1") == true)
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count <= 1, "a wedged loop must not ping: \(messages)")
    }

    @Test func notifySocketsInTheAbstractNamespaceWork() throws {
        let name = "lavitd-test-\(getpid())"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name])
        #expect(notifier.isActive)
        notifier.notify("READY=1")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(n == 7 && String(decoding: buffer[..<max(n, 0)], as: UTF8.self) == "READY=1")
    }

    @Test func withoutSystemdNotificationIsOff() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(notifier.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "junk"]).watchdogInterval == nil)
    }

    /// Socket activation: a client connects before lavitd exists, and gets its hello once the
    /// model has loaded.
    @Test func anActivatedSocketServesClientsThatConnectedBeforeTheModelLoaded() throws {
        let path = temporarySocket("activated")
        unlink(path)
        let listener = try System.live.listenUnix(path)
        defer { unlink(path) }
        let early = try TestClient(path)
        let passed = try #require(try SocketActivation.listeningDescriptor(
            environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "lavitd"], first: listener))
        #expect(passed == listener)
        let daemon = try Daemon(config: fashionConfig("activated"), log: LogLines().log, listeningDescriptor: passed)
        let runner = try System.live.startThread { _ = daemon.run() }
        defer {
            daemon.stop()
            runner.join()
        }
        #expect(early.next("hello") != nil)
        #expect(early.next("result") != nil)
    }

    @Test func activationVariablesAreCheckedNotTrusted() throws {
        #expect(try SocketActivation.listeningDescriptor(environment: [:]) == nil)
        #expect(try SocketActivation.listeningDescriptor(environment: ["LISTEN_PID": "1", "LISTEN_FDS": "1"]) == nil)
        #expect(throws: DaemonError.self) {
            try SocketActivation.listeningDescriptor(environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "lots"])
        }
        let file = open("/dev/null", O_RDONLY)
        defer { close(file) }
        #expect(throws: DaemonError.self) {
            try SocketActivation.listeningDescriptor(environment: ["LISTEN_PID": "\(getpid())", "LISTEN_FDS": "1"], first: file)
        }
    }

    /// SIGHUP's path: a good new model is swapped in and clients get its hello; a corrupt one is
    /// refused, the old model keeps serving, and the status says why.
    @Test func reloadSwapsAGoodModelAndKeepsTheOldOneOnABadOne() throws {
        let systemd = try NotifyListener("reload")
        let config = fashionConfig("reload")
        let lines = LogLines()
        let daemon = try Daemon(
            config: config, log: lines.log, notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": systemd.path]))
        let runner = try System.live.startThread { _ = daemon.run() }
        defer {
            daemon.stop()
            runner.join()
        }
        let client = try TestClient(config.socket)
        let first = try #require(client.next("hello"))
        #expect(client.next("result") != nil)

        var other = config
        other.model = RepositoryPaths.fixtures + "/int8/multi/model.lvt"
        daemon.reload(other)
        let second = try #require(client.next("hello"))
        #expect(second["model_sha256"] as? String != first["model_sha256"] as? String)
        #expect(client.next("result") != nil, "results continue after the swap")

        let corrupt = "/tmp/lavitd-test-\(getpid())-corrupt.lvt"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: RepositoryPaths.shippedModel)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        defer { unlink(corrupt) }
        var bad = config
        bad.model = corrupt
        daemon.reload(bad)
        let status = try #require(client.next("status") { ($0["reload_error"] as? String)?.isEmpty == false })
        #expect((status["reload_error"] as? String)?.contains("checksum") == true, "\(status)")
        #expect(client.next("result") != nil, "the old model keeps serving")
        #expect(lines.all.contains { $0.contains("reload failed, the old model keeps serving") })
        let notes = systemd.messages(within: 300)
        #expect(notes.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
    }
}
