import CAllocationCounter
import Foundation
import Glibc
import LavitCapture
import LavitClient
@testable import LavitDaemon
import LavitFakes
import LavitPipeline
import LavitSystem
import LavitTestSupport
import Testing

@Suite(.serialized) struct DaemonTests {
    /// lavitd over image files: every result names its file, and its label is what the offline
    /// path (`FrameClassifier.classify(path:)`, which `lavit-quantize classify` uses) gives.
    @Test func filesAreServedWithTheOfflineLabels() throws {
        let directory = "/tmp/lavitd-test-\(getpid())-images"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (i, photo) in RepositoryPaths.photos.enumerated() {
            try FileManager.default.copyItem(atPath: photo, toPath: "\(directory)/\(i).jpg")
        }
        try FileManager.default.copyItem(atPath: RepositoryPaths.fixtures + "/images/fashion_28x28.png", toPath: "\(directory)/9.png")
        var config = testConfig("files", source: directory)
        config.fps = 200
        config.frames = 40
        let lines = LogLines()
        let daemon = try Daemon(config: config, log: lines.log)
        let runner = try System.live.startThread { _ = daemon.run() }
        let client = try TestClient(config.socket)
        let hello = try #require(client.next("hello"))
        #expect(hello["protocol"] as? Int == 1)
        #expect(hello["model"] as? String == daemon.model.name)
        #expect((hello["model_sha256"] as? String)?.count == 64)
        #expect((hello["labels"] as? [String])?.count == 10)

        let offline = try FrameClassifier(modelPath: config.model)
        var seen = 0
        var lastSeq = 0
        while let result = client.next("result", within: 3000) {
            let file = try #require(result["file"] as? String)
            let top = try #require((result["top"] as? [[String: Any]])?.first?["label"] as? String)
            #expect(top == (try offline.classify(path: file)).first?.label, "\(file)")
            let seq = try #require(result["seq"] as? Int)
            #expect(seq > lastSeq)
            lastSeq = seq
            seen += 1
        }
        runner.join()
        #expect(seen >= 30, "a client connected right after start misses at most a few of 40 results; saw \(seen)")
        #expect(access(config.socket, F_OK) != 0, "the socket file is removed on exit")
        #expect(lines.all.contains { $0.contains("memory: model") }, "memory use is logged at start")
    }

    /// The loop's steady state allocates nothing with a YUYV camera, and with an MJPEG camera only
    /// TurboJPEG's own per-decode pools, exactly as many as the classifier alone needs.
    @Test(arguments: [false, true])
    func frameLoopAllocatesNothingOfItsOwn(mjpeg: Bool) throws {
        let photo = try ImageDecoderBytes.read(RepositoryPaths.photos[3])
        let fake = mjpeg
            ? camera(fourcc: FakeCamera.mjpeg, width: 1280, height: 720, jpeg: photo)
            : camera(fourcc: FakeCamera.yuyv, width: 640, height: 480)
        let daemon = try daemonOnFakeCamera(fake, name: "alloc-\(mjpeg)")
        defer { daemon.publisher.stop() }
        let client = try TestClient(daemon.config.socket)
        let loop = FrameLoop(daemon: daemon)
        for _ in 0..<5 { _ = loop.step() }

        // What the classifier alone allocates per frame of this camera.
        let classifier = try FrameClassifier(modelPath: daemon.config.model)
        var perFrame = 0
        if mjpeg {
            try photo.withUnsafeBytes { raw in
                try classifier.classify(.compressed(raw))
                lavit_alloc_count_reset()
                try classifier.classify(.compressed(raw))
                perFrame = lavit_alloc_count()
            }
        }
        lavit_alloc_count_reset()
        var published = 0
        for _ in 0..<30 where loop.step() == .published { published += 1 }
        let allocations = lavit_alloc_count()
        let frees = lavit_free_count()
        #expect(published == 30)
        #expect(allocations == 30 * perFrame, "\(allocations) allocations in 30 frames, the classifier alone \(perFrame) a frame")
        #expect(frees == allocations)
        #expect(client.next("result") != nil, "results reached a client meanwhile")
    }

    /// Unplugged mid-stream: clients get an offline status with the reason, then, once the
    /// camera is back, an online status and results again, without a restart.
    @Test func anUnpluggedCameraGoesOfflineAndComesBack() throws {
        let fake = camera(fourcc: FakeCamera.yuyv, width: 640, height: 480)
        let lines = LogLines()
        let daemon = try daemonOnFakeCamera(fake, name: "unplug", retryMilliseconds: 10, log: lines.log)
        defer { daemon.publisher.stop() }
        let source = daemon.source
        let client = try TestClient(daemon.config.socket)
        #expect(client.next("hello") != nil)
        let loop = FrameLoop(daemon: daemon)
        for _ in 0..<3 { _ = loop.step() }
        #expect(client.next("result") != nil)

        fake.unplug()
        for _ in 0..<3 { _ = loop.step() }
        let offline = try #require(client.next("status") { $0["online"] as? Bool == false })
        let reason = try #require(offline["reason"] as? String)
        // The publisher sends the latest status, so the reason is the unplug's or the failed reopen's.
        #expect(reason.lowercased().contains("no such device"), "\(reason)")

        fake.replug()
        var steps = 0
        while loop.step() != .published && steps < 50 { steps += 1 }
        #expect(client.next("status") { $0["online"] as? Bool == true } != nil)
        #expect(client.next("result") != nil)
        #expect(source.counters.reopens == 1)
        let offlineLines = lines.all.filter { $0.contains("offline") }
        #expect(offlineLines.count == 1, "a failure is logged once: \(lines.all)")
    }

    /// `lavit-client --once` and `--status` against a running lavitd.
    @Test func theClientReadsARunningDaemon() throws {
        var config = testConfig("client", source: RepositoryPaths.fixtures + "/images/fashion_28x28.png")
        config.fps = 50
        let daemon = try Daemon(config: config, log: LogLines().log)
        let runner = try System.live.startThread { _ = daemon.run() }
        defer {
            daemon.stop()
            runner.join()
        }
        var output: [String] = []
        var options = ClientOptions(socketPath: config.socket)
        options.once = true
        try ClientSession(options: options, output: { output.append($0) }, note: { _ in }).run()
        let label = try FrameClassifier(modelPath: config.model).classify(path: config.source)[0].label
        #expect(output.contains { $0.contains(label) && $0.contains("fashion_28x28.png") }, "\(output)")

        output = []
        options.once = false
        options.status = true
        try ClientSession(options: options, output: { output.append($0) }, note: { _ in }).run()
        #expect(output.contains { $0.hasPrefix("status: ") && $0.contains("online") }, "\(output)")
    }

    /// SIGTERM's path: `stop` ends `run` well within a second, and clients see a final status.
    @Test func stopEndsRunPromptlyAndTellsClients() throws {
        var config = testConfig("stop", source: RepositoryPaths.fixtures + "/images/fashion_28x28.png")
        config.fps = 5
        let daemon = try Daemon(config: config, log: LogLines().log)
        let runner = try System.live.startThread { _ = daemon.run() }
        let client = try TestClient(config.socket)
        #expect(client.next("result") != nil)
        let start = System.live.monotonicNanoseconds()
        daemon.stop()
        runner.join()
        let elapsed = Double(System.live.monotonicNanoseconds() - start) / 1e9
        #expect(elapsed < 1.0, "stopped in \(elapsed) s")
        #expect(client.next("status") { $0["reason"] as? String == "stopping" } != nil)
    }

    @Test func startUpFailuresAreOneLineNamingTheCause() throws {
        var config = testConfig("fail")
        config.model = "/nonexistent/model.lvt"
        #expect(throws: DaemonError.self) { try Daemon(config: config, log: LogLines().log) }
        do {
            _ = try Daemon(config: config, log: LogLines().log)
        } catch {
            #expect(error.description == "model: /nonexistent/model.lvt: open failed: No such file or directory (errno 2)")
        }
        config = testConfig("fail2", source: "/nonexistent/images/*.png")
        do {
            _ = try Daemon(config: config, log: LogLines().log)
            Issue.record("a source with no images started")
        } catch {
            #expect(error.description.hasPrefix("source: "), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }
}

enum ImageDecoderBytes {
    static func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
}
