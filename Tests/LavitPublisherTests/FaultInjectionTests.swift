#if canImport(Glibc)
import Glibc
#endif
import LavitPublisher
import LavitSystem
import Synchronization
import Testing

/// The real kernel, except that sends to accepted connections can be cut short, refused with
/// `EAGAIN`, or failed with an errno: what a busy or vanishing client looks like.
final class FaultyCalls: SystemCalls {
    struct Faults {
        /// Most bytes one send takes.
        var maxSendBytes = Int.max
        /// Every n-th send reports `EAGAIN` (0: never).
        var eagainEvery = 0
        /// Sends to the first accepted connection fail with this errno once set.
        var failFirstClient: Int32?
        var accepted: [Int32] = []
        var sends = 0
    }

    let live = LiveSystemCalls()
    let faults = Mutex(Faults())

    func send(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
        let decision: Int? = faults.withLock { faults in
            guard faults.accepted.contains(fd) else { return nil }
            faults.sends += 1
            if let code = faults.failFirstClient, fd == faults.accepted.first { return -Int(code) }
            if faults.eagainEvery > 0 && faults.sends % faults.eagainEvery == 0 { return -Int(EAGAIN) }
            return min(count, faults.maxSendBytes)
        }
        guard let decision else { return live.send(fd, buffer, count, flags) }
        return decision < 0 ? decision : live.send(fd, buffer, decision, flags)
    }

    func accept(_ fd: Int32, _ flags: Int32) -> Int32 {
        let result = live.accept(fd, flags)
        if result >= 0 { faults.withLock { $0.accepted.append(result) } }
        return result
    }

    func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 { live.open(path, flags, mode) }
    func close(_ fd: Int32) -> Int32 { live.close(fd) }
    func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { live.read(fd, buffer, count) }
    func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { live.write(fd, buffer, count) }
    func fstat(_ fd: Int32, _ info: UnsafeMutablePointer<stat>) -> Int32 { live.fstat(fd, info) }
    func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeoutMilliseconds: Int32) -> Int32 {
        live.poll(fds, count, timeoutMilliseconds)
    }
    func deviceOpen(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { live.deviceOpen(path, flags) }
    func deviceClose(_ fd: Int32) -> Int32 { live.deviceClose(fd) }
    func deviceIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Int32 {
        live.deviceIoctl(fd, request, argument)
    }
    func deviceMmap(_ length: Int, _ fd: Int32, _ offset: Int) -> (UnsafeMutableRawPointer?, Int32) { live.deviceMmap(length, fd, offset) }
    func deviceMunmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Int32 { live.deviceMunmap(address, length) }
    func socket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 { live.socket(domain, type, proto) }
    func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { live.bind(fd, address, length) }
    func listen(_ fd: Int32, _ backlog: Int32) -> Int32 { live.listen(fd, backlog) }
    func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { live.connect(fd, address, length) }
}

@Suite struct FaultInjectionTests {
    func start(_ name: String, _ calls: FaultyCalls, log: LogLines = LogLines()) throws -> Publisher {
        let publisher = try Publisher(
            system: System(calls), socketPath: temporarySocketPath(name), mode: 0o600, model: testModel, device: "/dev/video0",
            log: log.logger)
        publisher.start()
        return publisher
    }

    /// Sends of at most 7 bytes, and `EAGAIN` on every third: the ring keeps its offsets and the
    /// client still reads every line whole and in order.
    @Test func shortSendsAndEAGAINKeepLinesWholeAndInOrder() throws {
        let calls = FaultyCalls()
        calls.faults.withLock {
            $0.maxSendBytes = 7
            $0.eagainEvery = 3
        }
        let publisher = try start("short", calls)
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("short"))
        _ = try client.readMessage(ofClass: "hello")
        for seq in 0..<100 {
            publisher.publish(makePrediction(UInt64(seq)))
            System.sleep(nanoseconds: 200_000)
        }
        var expected: UInt64 = 0
        while expected < 100 {
            let message = try client.readMessage()
            #expect(message.class == "result")
            let seq = try #require(message.seq)
            #expect(seq == expected + (message.dropped ?? 0), "gaps only where drops are reported")
            expected = seq + 1
        }
        #expect(calls.faults.withLock { $0.sends } > 1000)
    }

    /// `EPIPE` on send (the client vanished) ends that connection quietly; another client is
    /// served on as before.
    @Test func epipeDetachesOnlyThatClient() throws {
        let calls = FaultyCalls()
        let log = LogLines()
        let publisher = try start("epipe", calls, log: log)
        defer { publisher.stop() }
        let first = try TestClient(temporarySocketPath("epipe"))
        _ = try first.readMessage(ofClass: "hello")
        let second = try TestClient(temporarySocketPath("epipe"))
        _ = try second.readMessage(ofClass: "hello")
        calls.faults.withLock { $0.failFirstClient = EPIPE }
        publisher.publish(makePrediction(0))
        #expect(first.readLine() == .endOfFile)
        #expect(eventually { publisher.clientCount == 1 })
        #expect(try second.readMessage().seq == 0)
        #expect(log.all.isEmpty, "a client going away is not worth a log line: \(log.all)")
    }

    /// An unexpected send error also detaches, with one log line naming it.
    @Test func unexpectedSendErrorIsLogged() throws {
        let calls = FaultyCalls()
        let log = LogLines()
        let publisher = try start("eio", calls, log: log)
        defer { publisher.stop() }
        let client = try TestClient(temporarySocketPath("eio"))
        _ = try client.readMessage(ofClass: "hello")
        calls.faults.withLock { $0.failFirstClient = EIO }
        publisher.publish(makePrediction(0))
        #expect(client.readLine() == .endOfFile)
        #expect(eventually { log.all.count == 1 })
        #expect(log.all.first?.contains("send failed") == true)
    }
}
