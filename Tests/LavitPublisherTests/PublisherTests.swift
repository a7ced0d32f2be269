#if canImport(Glibc)
import Glibc
#endif
import LavitPublisher
import LavitSystem
import Synchronization
import Testing

/// The publisher over real Unix sockets in /tmp.
@Suite struct PublisherTests {
    func makePublisher(
        _ name: String, limits: PublisherLimits = PublisherLimits(), log: LogLines = LogLines(), system: System = .live
    ) throws -> Publisher {
        let publisher = try Publisher(
            system: system, socketPath: temporarySocketPath(name), mode: 0o660, model: testModel, device: "/dev/video0", limits: limits,
            log: log.logger)
        publisher.start()
        return publisher
    }

    @Test func helloOnConnect() throws {
        let publisher = try makePublisher("hello")
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("hello"))
        let hello = try client.readMessage()
        #expect(hello.class == "hello" && hello.protocol == 1 && hello.labels == testModel.labels)
        #expect(eventually { publisher.clientCount == 1 })
        var info = stat()
        #expect(stat(temporarySocketPath("hello"), &info) == 0 && info.st_mode & 0o777 == 0o660)
    }

    @Test func resultsArriveInOrder() throws {
        let publisher = try makePublisher("order")
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("order"))
        _ = try client.readMessage(ofClass: "hello")
        // Published in bursts of 20 and read as they come: every result, whole and in order.
        for burst in 0..<25 {
            for seq in burst * 20..<(burst + 1) * 20 { publisher.publish(makePrediction(UInt64(seq))) }
            for seq in burst * 20..<(burst + 1) * 20 {
                let message = try client.readMessage()
                #expect(message.class == "result" && message.seq == UInt64(seq) && message.dropped == nil)
                #expect(message.top?.first?.label == testModel.labels[seq % 10])
                #expect(message.time == "2026-12-01T21:50:18.123Z")
            }
        }
    }

    /// A client that reads nothing while results pile up loses those that fit neither the
    /// kernel's buffer nor its ring, and the next result it gets says how many.
    @Test func aClientThatFallsBehindIsToldWhatItLost() throws {
        let publisher = try makePublisher("behind", limits: PublisherLimits(queueBytesPerClient: 4096))
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("behind"))
        _ = try client.readMessage(ofClass: "hello")
        for seq in 0..<1000 {
            publisher.publish(makePrediction(UInt64(seq)))
            if seq % 32 == 0 { System.sleep(nanoseconds: 1_000_000) }
        }
        var results: [Message] = []
        while case let .line(line) = client.readLine(timeout: 300) { results.append(try decode(line)) }
        // The backlog is read; one more result carries the count of what was lost at its end.
        publisher.publish(makePrediction(1000))
        results.append(try client.readMessage())
        var expected: UInt64 = 0
        var lost: UInt64 = 0
        for message in results {
            let seq = try #require(message.seq)
            #expect(seq == expected + (message.dropped ?? 0), "gaps are exactly what `dropped` says")
            lost += message.dropped ?? 0
            expected = seq + 1
        }
        #expect(expected == 1001)
        #expect(lost > 0)
    }

    @Test func commands() throws {
        let publisher = try makePublisher("commands")
        defer { publisher.stop() }
        publisher.statusProvider = { StatusSnapshot(device: "/dev/video0", online: true, reason: "streaming", fps: 30) }
        let client = try TestClient(temporarySocketPath("commands"))
        _ = try client.readMessage(ofClass: "hello")
        try client.send("?status\n")
        let status = try client.readMessage()
        #expect(status.class == "status" && status.online == true && status.reason == "streaming" && status.clients == 1)
        try client.send("?ping\r\n?hello\n")
        #expect(try client.readMessage().class == "pong")
        #expect(try client.readMessage().class == "hello")
        try client.send("?bogus\n?top=9\n")
        let unknown = try client.readMessage()
        #expect(unknown.class == "error" && unknown.message?.contains("?bogus") == true)
        #expect(try client.readMessage().message?.contains("from 1 to 5") == true)
        // An overlong line gets one error, its remainder is discarded, and the next line works.
        try client.send([UInt8](repeating: 0x41, count: 1000) + Array("\n?top=1\n".utf8))
        let tooLong = try client.readMessage()
        #expect(tooLong.class == "error" && tooLong.message?.contains("256") == true)
        try client.send("?ping\n")
        #expect(try client.readMessage().class == "pong")
        publisher.publish(makePrediction(1))
        #expect(try client.readMessage().top?.count == 1)
        // ?rate=1: of results published 10 ms apart over 250 ms, only the first goes out.
        try client.send("?rate=1\n?ping\n")
        #expect(try client.readMessage().class == "pong")
        for seq in 2..<27 {
            publisher.publish(makePrediction(UInt64(seq)))
            System.sleep(nanoseconds: 10_000_000)
        }
        try client.send("?ping\n")
        #expect(try client.readMessage().seq == 2)
        #expect(try client.readMessage().class == "pong")
        // Status published by the daemon reaches the client unasked.
        publisher.publishStatus(StatusSnapshot(device: "/dev/video0", online: false, reason: "no device"))
        let pushed = try client.readMessage()
        #expect(pushed.class == "status" && pushed.reason == "no device")
    }

    @Test func binaryGarbageGetsErrorsNotACrash() throws {
        let publisher = try makePublisher("binary")
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("binary"))
        _ = try client.readMessage(ofClass: "hello")
        try client.send([0x00, 0xFF, 0xFE, 0x0A, 0xC3, 0x28, 0x0A, 0x3F, 0x00, 0x0A])
        for _ in 0..<3 { #expect(try client.readMessage().class == "error") }
        try client.send("?ping\n")
        #expect(try client.readMessage().class == "pong")
    }

    /// The scenario the design exists for: at about 1 kHz, a client that stops reading and a
    /// client that sends garbage cost the healthy client nothing. The stalled one loses messages
    /// (told how many) and is detached after the timeout.
    @Test func stalledAndGarbageClientsDoNotHurtAHealthyOne() throws {
        let log = LogLines()
        let limits = PublisherLimits(queueBytesPerClient: 8192, stallTimeoutSeconds: 1)
        let publisher = try makePublisher("stall", limits: limits, log: log)
        defer { publisher.stop() }
        let path = temporarySocketPath("stall")
        let total = 2000
        let healthy = try TestClient(path)
        let stalled = try TestClient(path)
        let garbage = try TestClient(path)
        #expect(eventually { publisher.clientCount == 3 })

        let finished = Atomic<Bool>(false)
        let worstLatency = Atomic<UInt64>(0)
        let received = Mutex<[UInt64]>([])
        let healthyThread = try System.live.startThread {
            while received.withLock({ $0.count }) < total {
                guard case let .line(line) = healthy.readLine(timeout: 5000), let message = try? decode(line) else { return }
                guard message.class == "result", let seq = message.seq, let sent = message.mono_ns else { continue }
                let latency = System.live.monotonicNanoseconds() - sent
                if latency > worstLatency.load(ordering: .relaxed) { worstLatency.store(latency, ordering: .relaxed) }
                received.withLock { $0.append(seq) }
            }
        }
        let garbageErrors = Atomic<Int>(0)
        let garbageThread = try System.live.startThread {
            let junk: [UInt8] = [0xFF, 0x00, 0x0A] + Array("?top=0\n?bogus\n".utf8) + [UInt8](repeating: 0x7E, count: 700) + [0x0A]
            while !finished.load(ordering: .relaxed) {
                _ = junk.withUnsafeBytes { try? System.live.sendNow(garbage.fd, $0) }
                while case let .line(line) = garbage.readLine(timeout: 0) {
                    if (try? decode(line))?.class == "error" { garbageErrors.add(1, ordering: .relaxed) }
                }
                System.sleep(nanoseconds: 2_000_000)
            }
        }
        // The stalled client reads once, after the first drops, so that it learns of them: one
        // read through its line reader, which keeps a line cut by the read for later (a raw read
        // could stop mid-line and leave the checks below a fragment to decode).
        let stalledThread = try System.live.startThread {
            System.sleep(nanoseconds: 600_000_000)
            _ = stalled.readLine(timeout: 0)
        }

        var prediction = makePrediction(0)
        for seq in 0..<total {
            fill(&prediction, UInt64(seq))
            publisher.publish(prediction)
            System.sleep(nanoseconds: 1_000_000)
        }
        healthyThread.join()
        finished.store(true, ordering: .relaxed)
        garbageThread.join()
        stalledThread.join()

        #expect(received.withLock { $0 } == (0..<UInt64(total)).map { $0 }, "the healthy client got every result, in order")
        let worst = Double(worstLatency.load(ordering: .relaxed)) / 1e6
        #expect(worst < 250, "worst delivery latency \(worst) ms")
        #expect(garbageErrors.load(ordering: .relaxed) > 0)

        // What reached the stalled client: results whose `dropped` accounts exactly for the gaps,
        // at least one gap, then the end of the connection.
        #expect(eventually(3000) { publisher.clientCount == 2 })
        #expect(log.all.contains { $0.contains("detached") && $0.contains("read nothing") })
        var previous: UInt64?
        var droppedSeen: UInt64 = 0
        var outcome = stalled.readLine(timeout: 3000)
        while case let .line(line) = outcome {
            let message = try decode(line)
            if message.class == "result", let seq = message.seq {
                if let previous { #expect(seq - previous - 1 == (message.dropped ?? 0)) }
                droppedSeen += message.dropped ?? 0
                previous = seq
            }
            outcome = stalled.readLine(timeout: 3000)
        }
        #expect(outcome == .endOfFile)
        #expect(droppedSeen > 0)
        #expect((previous ?? 0) < UInt64(total - 1), "detached before the end")
    }

    @Test func sixtyFourClientsAllReceive() throws {
        let publisher = try makePublisher("many")
        defer { publisher.stop() }
        let clients = try (0..<64).map { _ in try TestClient(temporarySocketPath("many")) }
        #expect(eventually { publisher.clientCount == 64 })
        for client in clients { _ = try client.readMessage(ofClass: "hello") }
        // 200 results a second: a fast camera, and 12,800 messages a second to fan out.
        for seq in 0..<100 {
            publisher.publish(makePrediction(UInt64(seq)))
            System.sleep(nanoseconds: 5_000_000)
        }
        for (i, client) in clients.enumerated() {
            for seq in 0..<100 {
                let message = try client.readMessage()
                #expect(message.seq == UInt64(seq) && message.dropped == nil, "client \(i): \(message.seq ?? 0), dropped \(message.dropped ?? 0)")
            }
        }
    }

    @Test func connectionsBeyondTheLimitAreRefused() throws {
        let log = LogLines()
        let publisher = try makePublisher("limit", limits: PublisherLimits(maxClients: 2), log: log)
        defer { publisher.stop() }
        let path = temporarySocketPath("limit")
        let first = try TestClient(path)
        let second = try TestClient(path)
        #expect(eventually { publisher.clientCount == 2 })
        let third = try TestClient(path)
        let refusal = try third.readMessage()
        #expect(refusal.class == "error" && refusal.message?.contains("too many clients") == true)
        #expect(third.readLine() == .endOfFile)
        #expect(publisher.clientCount == 2)
        #expect(try first.readMessage().class == "hello" && second.readMessage().class == "hello")
        #expect(log.all.count == 1)
        // A place freed is a place taken.
        first.hangUp()
        #expect(eventually { publisher.clientCount == 1 })
        let fourth = try TestClient(path)
        #expect(try fourth.readMessage().class == "hello")
    }

    /// Limits from a configuration typo are clamped, not trapped on.
    @Test func absurdLimitsAreClamped() throws {
        for stall in [Double.nan, .infinity, -1] {
            let limits = PublisherLimits(
                maxClients: .max, queueBytesPerClient: -5, stallTimeoutSeconds: stall, maxLineBytes: 0, maxTopK: 0, pendingResults: 0)
            let publisher = try makePublisher("absurd", limits: limits)
            let client = try TestClient(temporarySocketPath("absurd"))
            _ = try client.readMessage(ofClass: "hello")
            publisher.publish(makePrediction(3))
            #expect(try client.readMessage().top?.count == 1)
            publisher.stop()
        }
    }

    @Test func staleSocketFileIsReplaced() throws {
        let path = temporarySocketPath("stale")
        let fd = try System.live.listenUnix(path)
        System.live.close(fd)  // the file stays: a lavitd that died
        let publisher = try makePublisher("stale")
        defer { publisher.stop() }
        #expect(try TestClient(path).readMessage().class == "hello")
    }

    @Test func liveSocketIsRefusedNamingThePath() throws {
        let publisher = try makePublisher("live")
        defer { publisher.stop() }
        let path = temporarySocketPath("live")
        #expect(throws: PublisherError.socketInUse(path: path)) { _ = try makePublisher("live") }
        #expect(PublisherError.socketInUse(path: path).description.contains(path))
        #expect(try TestClient(path).readMessage().class == "hello", "the first publisher still serves")
    }

    @Test func nonSocketFileIsLeftAlone() throws {
        let path = temporarySocketPath("regular")
        try System.live.writeFileAtomically(path, Array("keep me".utf8))
        defer { try? System.live.unlink(path) }
        #expect(throws: PublisherError.notASocket(path: path)) { _ = try makePublisher("regular") }
        #expect(try System.live.readFile(path, limit: 100) == Array("keep me".utf8))
    }

    @Test func stopTellsClientsThenClosesAndUnlinks() throws {
        let path = temporarySocketPath("stop")
        let publisher = try makePublisher("stop")
        let client = try TestClient(path)
        _ = try client.readMessage(ofClass: "hello")
        publisher.stop()
        let last = try client.readMessage()
        #expect(last.class == "status" && last.online == false && last.reason == "stopping")
        #expect(client.readLine() == .endOfFile)
        #expect(access(path, F_OK) != 0 && errno == ENOENT)
        #expect(publisher.clientCount == 0)
        publisher.stop()
    }

    @Test func stopWithoutStartUnlinks() throws {
        let path = temporarySocketPath("unstarted")
        let publisher = try Publisher(socketPath: path, mode: 0o600, model: testModel, device: "d")
        #expect(access(path, F_OK) == 0)
        publisher.stop()
        #expect(access(path, F_OK) != 0)
    }

    /// A listening socket handed over (systemd socket activation), even a blocking one, is
    /// served; stopping closes it but leaves the file to whoever made it.
    @Test func inheritedListeningSocket() throws {
        let path = temporarySocketPath("inherited")
        let fd = try System.live.listenUnix(path)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let publisher = try Publisher(listeningDescriptor: fd, model: testModel, device: "/dev/video0", log: LogLines().logger)
        publisher.start()
        let clients = try (0..<3).map { _ in try TestClient(path) }
        for client in clients { #expect(try client.readMessage().class == "hello") }
        publisher.stop()
        #expect(access(path, F_OK) == 0)
        try System.live.unlink(path)
    }

    @Test func replaceModelSendsANewHelloAndRelabels() throws {
        let publisher = try makePublisher("reload")
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("reload"))
        _ = try client.readMessage(ofClass: "hello")
        publisher.publish(makePrediction(0))
        var model = testModel
        model.name = "lavit-new"
        model.labels = (0..<10).map { "class \($0)" }
        publisher.replaceModel(model)
        publisher.publish(makePrediction(1))
        #expect(try client.readMessage().top?.first?.label == "T-shirt")
        let hello = try client.readMessage()
        #expect(hello.class == "hello" && hello.model == "lavit-new")
        #expect(try client.readMessage().top?.first?.label == "class 1")
    }

    @Test func clientThatHangsUpIsForgotten() throws {
        let publisher = try makePublisher("hangup")
        defer { publisher.stop() }
        do {
            let client = try TestClient(temporarySocketPath("hangup"))
            _ = try client.readMessage(ofClass: "hello")
            #expect(publisher.clientCount == 1)
        }
        #expect(eventually { publisher.clientCount == 0 })
        for seq in 0..<10 { publisher.publish(makePrediction(UInt64(seq))) }
        let another = try TestClient(temporarySocketPath("hangup"))
        #expect(try another.readMessage().class == "hello")
    }

    /// A client may send a command and close its side at once (`echo ?status | socat`): the
    /// reply still reaches it.
    @Test func halfClosedClientStillGetsItsReply() throws {
        let publisher = try makePublisher("halfclose")
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("halfclose"))
        try client.send("?ping")
        shutdown(client.fd, Int32(SHUT_WR))
        _ = try client.readMessage(ofClass: "hello")
        #expect(try client.readMessage().class == "pong")
        #expect(client.readLine() == .endOfFile)
    }
}
