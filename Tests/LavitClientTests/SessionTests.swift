#if canImport(Glibc)
import Glibc
#endif
@testable import LavitClient
import LavitPublisher
import LavitSystem
import Synchronization
import Testing

/// A publisher on a temporary socket with a thread publishing a result every 5 ms, as a camera
/// would, until `stop()`.
final class FakeDaemon: Sendable {
    static let model = ModelInfo(name: "lavit-fashion", sha256: "0123456789abcdef", labels: ["T-shirt", "Trouser", "Shirt"], inputWidth: 28, inputHeight: 28, inputChannels: 1)
    let path: String
    let publisher: Publisher
    /// Shared with the publishing thread, which starts before `self` is whole.
    final class Flag: Sendable {
        let value = Atomic<Bool>(true)
    }
    private let running = Flag()
    private let thread: JoinableThread

    init(_ name: String) throws {
        path = "/tmp/lavit-client-test-\(getpid())-\(name).sock"
        publisher = try Publisher(socketPath: path, mode: 0o660, model: Self.model, device: "/dev/video0", log: { _ in })
        publisher.statusProvider = { StatusSnapshot(device: "/dev/video0", online: true, reason: "streaming", fps: 200, frames: 7) }
        publisher.start()
        let publisher = publisher
        let running = running
        thread = try System.live.startThread {
            var prediction = Prediction(maxTopK: 5)
            var seq: UInt64 = 0
            while running.value.load(ordering: .relaxed) {
                prediction.sequence = seq
                prediction.monotonicNanoseconds = System.live.monotonicNanoseconds()
                prediction.wallNanoseconds = 1_796_161_818_123_000_000
                prediction.topCount = 3
                for i in 0..<3 {
                    prediction.labelIndices[i] = (2 + i) % 3
                    prediction.scores[i] = [0.9312, 0.05, 0.0188][i]
                }
                publisher.publish(prediction)
                seq += 1
                System.sleep(nanoseconds: 5_000_000)
            }
        }
    }

    func stop() {
        running.value.store(false, ordering: .relaxed)
        thread.join()
        publisher.stop()
    }
}

/// Lines a session printed, per stream.
final class Captured: @unchecked Sendable {
    private let lock = Mutex<([String], [String])>(([], []))
    var output: [String] { lock.withLock { $0.0 } }
    var notes: [String] { lock.withLock { $0.1 } }

    func session(_ options: ClientOptions) -> ClientSession {
        ClientSession(options: options, output: { line in self.lock.withLock { $0.0.append(line) } }, note: { line in self.lock.withLock { $0.1.append(line) } })
    }
}

@Suite struct SessionTests {
    @Test func oncePrintsOneResultLine() throws {
        let daemon = try FakeDaemon("once")
        defer { daemon.stop() }
        var options = ClientOptions(socketPath: daemon.path)
        options.once = true
        let captured = Captured()
        try captured.session(options).run()
        #expect(captured.output.count == 1)
        let line = try #require(captured.output.first)
        #expect(line.hasPrefix("21:50:18.123  Shirt 93.1%  T-shirt 5.0%  Trouser 1.9%"), "\(line)")
        #expect(captured.notes == ["lavitd: model lavit-fashion (sha256 0123456789ab), 3 labels, input 28x28x1, device /dev/video0"])
    }

    @Test func countAndTopGiveThatManyLinesWithThatManyLabelsAndARate() throws {
        let daemon = try FakeDaemon("count")
        defer { daemon.stop() }
        var options = ClientOptions(socketPath: daemon.path)
        options.count = 3
        options.top = 1
        let captured = Captured()
        try captured.session(options).run()
        #expect(captured.output.count == 3)
        // The first result may come before ?top=1 took effect; the last came after it.
        let last = try #require(captured.output.last)
        #expect(last.hasPrefix("21:50:18.123  Shirt 93.1%  ("), "\(last)")
        #expect(last.hasSuffix(" fps)"))
    }

    @Test func statusPrintsTheStatusAndExits() throws {
        let daemon = try FakeDaemon("status")
        defer { daemon.stop() }
        var options = ClientOptions(socketPath: daemon.path)
        options.status = true
        let captured = Captured()
        try captured.session(options).run()
        #expect(captured.output == ["status: /dev/video0 online (streaming), 200.0 fps, 7 frames, 0 skipped, 0 corrupt, 0 reopens, latency p50/p90/p99 0.0/0.0/0.0 ms, 1 client"])
    }

    @Test func jsonPrintsTheDaemonsObjects() throws {
        let daemon = try FakeDaemon("json")
        defer { daemon.stop() }
        var options = ClientOptions(socketPath: daemon.path)
        options.json = true
        options.count = 2
        let captured = Captured()
        try captured.session(options).run()
        let messages = captured.output.map { DaemonMessage.decode(Array($0.utf8)) }
        #expect(messages.count == 3)
        if case .hello = messages.first {} else { Issue.record("first line is not the hello: \(captured.output)") }
        for message in messages.dropFirst() {
            if case .result = message {} else { Issue.record("not a result: \(String(describing: message))") }
        }
        #expect(captured.output[1].hasPrefix(#"{"class":"result","seq":"#))

        var statusOptions = ClientOptions(socketPath: daemon.path)
        statusOptions.json = true
        statusOptions.status = true
        let status = Captured()
        try status.session(statusOptions).run()
        #expect(status.output.count == 1 && status.output[0].hasPrefix(#"{"class":"status","device":"/dev/video0","online":true"#))
    }

    @Test func daemonNotRunning() throws {
        let path = "/tmp/lavit-client-test-\(getpid())-absent.sock"
        let captured = Captured()
        #expect(throws: ClientError.notRunning(path: path)) { try captured.session(ClientOptions(socketPath: path)).run() }
        #expect(ClientError.notRunning(path: path).description == "lavitd is not running (no socket at \(path))")
    }

    @Test func daemonStoppingEndsTheSession() throws {
        let daemon = try FakeDaemon("gone")
        let captured = Captured()
        let session = captured.session(ClientOptions(socketPath: daemon.path))
        let stopper = try System.live.startThread {
            System.sleep(nanoseconds: 100_000_000)
            daemon.stop()
        }
        defer { stopper.join() }
        #expect(throws: ClientError.closed(path: daemon.path)) { try session.run() }
        #expect(captured.output.count > 3)
        #expect(captured.output.last?.hasPrefix("status: /dev/video0 offline (stopping)") == true)
    }

    /// `--follow` waits for a daemon that is not there yet, and says so once.
    @Test func followWaitsForTheDaemon() throws {
        let name = "follow"
        let path = "/tmp/lavit-client-test-\(getpid())-\(name).sock"
        let daemon = Mutex<FakeDaemon?>(nil)
        let starter = try System.live.startThread {
            System.sleep(nanoseconds: 1_500_000_000)
            daemon.withLock { $0 = try? FakeDaemon(name) }
        }
        defer {
            starter.join()
            daemon.withLock { $0?.stop() }
        }
        var options = ClientOptions(socketPath: path)
        options.follow = true
        options.once = true
        let captured = Captured()
        try captured.session(options).run()
        #expect(captured.output.count == 1)
        #expect(captured.notes.first == "lavitd is not running (no socket at \(path)); retrying every second")
    }
}
