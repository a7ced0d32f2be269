#if canImport(Glibc)
import Glibc
#endif
import LavitSystem
import Synchronization

/// Serves predictions to any number of local clients over a Unix stream socket, as
/// newline-delimited JSON (see Messages.swift), the way gpsd serves fixes.
///
/// One thread of its own polls the listening socket, a wake-up pipe and every client. The frame
/// thread only copies a prediction into a preallocated slot under a short lock and, when the
/// publishing thread is asleep, writes one byte to the pipe: it never waits for a client and
/// never allocates. Each client has a fixed ring of outgoing bytes; a message that does not fit
/// is dropped for that client and counted, and a client that drops messages while reading
/// nothing for `stallTimeoutSeconds` is detached.
public final class Publisher: @unchecked Sendable {
    private let system: System
    private let limits: PublisherLimits
    private let listener: Int32
    /// The socket file this publisher created and removes at `stop()`; nil for an inherited one.
    private let ownedPath: String?
    private let wake: (read: Int32, write: Int32)
    private let log: @Sendable (String) -> Void
    private let shared: Mutex<Shared>
    private let connected = Atomic<Int>(0)

    // Touched only by the publishing thread once it runs (and by `init` before).
    private let device: String
    private var model: ModelInfo
    private var lastStatus: StatusSnapshot
    private var clients: [Client] = []
    private let pollfds: UnsafeMutableBufferPointer<pollfd>
    private var scratch: UnsafeMutableRawBufferPointer
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var batch: [Prediction]
    private var acceptPausedUntil: UInt64 = 0
    private var refusalLogged = false
    private var overflowLogged = false

    /// State the frame thread and the publishing thread share, under `shared`'s lock.
    private struct Shared {
        enum Phase { case idle, running, stopped }
        var phase = Phase.idle
        var thread: JoinableThread?
        var stopRequested = false
        /// Set when the pipe holds a wake-up byte the publishing thread has not taken yet, so a
        /// burst of publishes costs one `write`.
        var wakePending = false
        var slots: [Prediction]
        var published: UInt64 = 0
        var taken: UInt64 = 0
        var status: StatusSnapshot?
        /// Model changes, each after the number of results published before it, so results
        /// are labelled with the model that produced them.
        var models: [(model: ModelInfo, after: UInt64)] = []
        var statusProvider: (@Sendable () -> StatusSnapshot)?

        /// Whether the caller must write the wake-up byte: the thread runs and none is pending.
        /// The caller writes it before releasing the lock, so it can never write to a pipe
        /// `stop()` has closed (or to whatever reused its descriptor).
        mutating func wakeUp() -> Bool {
            if wakePending || phase != .running { return false }
            wakePending = true
            return true
        }
    }

    /// Listens on `socketPath`: removes a stale socket file a dead lavitd left, refuses one a
    /// live process serves, binds, and sets the file's mode (e.g. 0o660 with group lavitd).
    public convenience init(
        system: System = .live, socketPath: String, mode: mode_t, model: ModelInfo, device: String,
        limits: PublisherLimits = PublisherLimits(), log: @escaping @Sendable (String) -> Void = Publisher.standardError
    ) throws(PublisherError) {
        do throws(Errno) {
            try system.removeStaleSocket(socketPath)
        } catch {
            switch error.code {
            case EADDRINUSE: throw .socketInUse(path: socketPath)
            case EEXIST: throw .notASocket(path: socketPath)
            default: throw .system(path: socketPath, error)
            }
        }
        let fd: Int32
        do throws(Errno) { fd = try system.listenUnix(socketPath) } catch { throw .system(path: socketPath, error) }
        let wake: (read: Int32, write: Int32)
        do throws(Errno) {
            try system.chmod(socketPath, mode)
            wake = try system.pipe(nonBlocking: true)
        } catch {
            system.close(fd)
            try? system.unlink(socketPath)
            throw .system(path: socketPath, error)
        }
        self.init(system: system, listener: fd, ownedPath: socketPath, wake: wake, model: model, device: device, limits: limits, log: log)
    }

    /// Serves on an already listening socket (systemd socket activation); `stop()` closes it but
    /// leaves its file to whoever made it.
    public convenience init(
        system: System = .live, listeningDescriptor: Int32, model: ModelInfo, device: String,
        limits: PublisherLimits = PublisherLimits(), log: @escaping @Sendable (String) -> Void = Publisher.standardError
    ) throws(PublisherError) {
        let wake: (read: Int32, write: Int32)
        do throws(Errno) {
            try system.setNonBlocking(listeningDescriptor)
            wake = try system.pipe(nonBlocking: true)
        } catch { throw .system(path: "descriptor \(listeningDescriptor)", error) }
        self.init(
            system: system, listener: listeningDescriptor, ownedPath: nil, wake: wake, model: model, device: device, limits: limits,
            log: log)
    }

    private init(
        system: System, listener: Int32, ownedPath: String?, wake: (read: Int32, write: Int32), model: ModelInfo, device: String,
        limits: PublisherLimits, log: @escaping @Sendable (String) -> Void
    ) {
        // Limits come from configuration: clamped to what the arithmetic and memory below can
        // take, rather than trapping on a typo.
        var limits = limits
        limits.maxClients = min(max(limits.maxClients, 1), 65536)
        limits.maxTopK = min(max(limits.maxTopK, 1), 1000)
        limits.defaultTopK = min(max(limits.defaultTopK, 1), limits.maxTopK)
        limits.maxLineBytes = min(max(limits.maxLineBytes, 16), 1 << 20)
        limits.pendingResults = min(max(limits.pendingResults, 1), 4096)
        limits.queueBytesPerClient = min(max(limits.queueBytesPerClient, 1), 1 << 30)
        if !(limits.stallTimeoutSeconds >= 0.001) { limits.stallTimeoutSeconds = 0.001 }
        limits.stallTimeoutSeconds = min(limits.stallTimeoutSeconds, 86400)
        self.system = system
        self.limits = limits
        self.listener = listener
        self.ownedPath = ownedPath
        self.wake = wake
        self.log = log
        self.model = model
        self.device = device
        lastStatus = StatusSnapshot(device: device, online: false, reason: "starting")
        let slots = (0..<limits.pendingResults).map { _ in Prediction(maxTopK: limits.maxTopK) }
        shared = Mutex(Shared(slots: slots))
        batch = (0..<limits.pendingResults).map { _ in Prediction(maxTopK: limits.maxTopK) }
        pollfds = .allocate(capacity: limits.maxClients + 2)
        readBuffer = .allocate(byteCount: 4096, alignment: 1)
        scratch = .allocate(byteCount: Self.scratchSize(model: model, device: device, maxTopK: limits.maxTopK), alignment: 1)
    }

    deinit {
        let neverStarted = shared.withLock { $0.phase == .idle }
        if neverStarted { closeListenerAndPipe() }
        pollfds.deallocate()
        readBuffer.deallocate()
        scratch.deallocate()
    }

    /// Writes each log line to standard error; the daemon passes its own logger instead.
    public static let standardError: @Sendable (String) -> Void = { message in
        var line = message + "\n"
        line.withUTF8 { _ = try? System.live.writeFully(2, UnsafeRawBufferPointer($0)) }
    }

    /// Answers `?status`. Called on the publishing thread, so it must return quickly and must not
    /// call `stop()`. When nil, the last status passed to `publishStatus` answers.
    public var statusProvider: (@Sendable () -> StatusSnapshot)? {
        get { shared.withLock { $0.statusProvider } }
        set { shared.withLock { $0.statusProvider = newValue } }
    }

    /// Clients connected now.
    public var clientCount: Int { connected.load(ordering: .relaxed) }

    /// Starts the publishing thread; later calls do nothing.
    public func start() {
        let failure: Errno? = shared.withLock { state in
            guard state.phase == .idle else { return nil }
            do throws(Errno) {
                state.thread = try system.startThread { self.run() }
                state.phase = .running
                // Results published before the start are waiting.
                if state.wakeUp() { signal() }
                return nil
            } catch { return error }
        }
        if let failure { log("publisher: cannot start its thread: \(failure)") }
    }

    /// Hands a prediction to every client. Called by the frame thread: copies into a preallocated
    /// slot and wakes the publishing thread, never blocks on a client, never allocates. When the
    /// publishing thread falls `pendingResults` behind, the oldest results are overwritten and
    /// counted as dropped for every client.
    public func publish(_ prediction: Prediction) {
        shared.withLock { state in
            let slot = Int(state.published % UInt64(state.slots.count))
            state.slots[slot].copy(from: prediction)
            state.published += 1
            if state.wakeUp() { signal() }
        }
    }

    /// Sends `status` to every client (the daemon calls this when its state changes) and keeps it
    /// as the answer to `?status` when there is no `statusProvider`.
    public func publishStatus(_ status: StatusSnapshot) {
        shared.withLock { state in
            state.status = status
            if state.wakeUp() { signal() }
        }
    }

    /// Switches to `model` after the results published so far, and sends every client a new hello.
    public func replaceModel(_ model: ModelInfo) {
        shared.withLock { state in
            state.models.append((model, state.published))
            if state.wakeUp() { signal() }
        }
    }

    /// Sends every client a last status (offline, "stopping"), gives their queued bytes a moment
    /// to drain, closes every connection and the socket, and removes the socket file this
    /// publisher created. Idempotent; also right for a publisher that never started.
    public func stop() {
        let (phase, thread) = shared.withLock { state in
            let phase = state.phase
            if phase == .running {
                state.stopRequested = true
                state.wakePending = true
                signal()
            }
            state.phase = .stopped
            let thread = state.thread
            state.thread = nil
            return (phase, thread)
        }
        switch phase {
        case .idle: closeListenerAndPipe()
        case .running: thread?.join()
        case .stopped: break
        }
    }

    /// Writes the wake-up byte. A full pipe (`EAGAIN`) already holds one, which is as good.
    private func signal() {
        var byte: UInt8 = 1
        withUnsafeBytes(of: &byte) { _ = try? system.write(wake.write, from: $0) }
    }

    private func closeListenerAndPipe() {
        system.close(listener)
        system.close(wake.read)
        system.close(wake.write)
        if let ownedPath { try? system.unlink(ownedPath) }
    }

    /// Room for the largest message this model and device can produce: any hello and result,
    /// and a status with a few kilobytes of reason.
    private static func scratchSize(model: ModelInfo, device: String, maxTopK: Int) -> Int {
        max(8192 + 6 * device.utf8.count, JSONWriter.helloBound(model: model, device: device), JSONWriter.resultBound(model: model, maxTopK: maxTopK))
    }
}

/// One connection, owned by the publishing thread.
private final class Client {
    let fd: Int32
    var ring: ByteRing
    /// The command line being read; a line longer than this is refused.
    let line: UnsafeMutableRawBufferPointer
    var lineCount = 0
    /// Skipping the rest of a line that was too long, up to its newline.
    var discarding = false
    var topK: Int
    /// Nanoseconds between results under `?rate=`, 0 for every result.
    var rateInterval: UInt64 = 0
    var nextDue: UInt64 = 0
    /// Messages lost to a full ring since the last delivered result.
    var dropped: UInt64 = 0
    /// When the client first lost a message with no byte sent since; the stall clock.
    var stalledSince: UInt64?
    /// The client closed its side: flush what is queued, then close.
    var closing = false
    var dead = false
    /// Why it is being detached, if that deserves a log line.
    var detachReason: String?

    init(fd: Int32, ringCapacity: Int, maxLineBytes: Int, topK: Int) {
        self.fd = fd
        ring = ByteRing(capacity: ringCapacity)
        line = .allocate(byteCount: maxLineBytes, alignment: 1)
        self.topK = topK
    }

    deinit {
        ring.deallocate()
        line.deallocate()
    }
}

// MARK: The publishing thread

extension Publisher {
    private var stallNanoseconds: UInt64 {
        UInt64(limits.stallTimeoutSeconds * 1e9)
    }

    private func run() {
        while true {
            let count = preparePoll()
            do throws(Errno) {
                _ = try system.poll(UnsafeMutableBufferPointer(rebasing: pollfds[0..<count]), timeoutMilliseconds: pollTimeout())
            } catch {
                log("publisher: poll failed: \(error)")
                System.sleep(nanoseconds: 100_000_000)
                continue
            }
            let now = system.monotonicNanoseconds()
            for (i, client) in clients.enumerated() {
                let events = Int32(pollfds[i + 2].revents)
                if events == 0 { continue }
                if events & Int32(POLLNVAL) != 0 {
                    client.dead = true
                    client.detachReason = "descriptor no longer valid"
                    continue
                }
                if events & Int32(POLLOUT) != 0 { flush(client) }
                if client.closing, events & Int32(POLLHUP | POLLERR) != 0 {
                    client.dead = true
                } else if events & Int32(POLLIN | POLLHUP | POLLERR) != 0 {
                    readCommands(client, now: now)
                }
            }
            if pollfds[0].revents != 0 {
                drainWakePipe()
                if !takeAndSendWork(now: now) {
                    shutDown()
                    return
                }
            }
            if pollfds[1].revents != 0 { acceptClients(now: now) }
            sweep(now: now)
        }
    }

    /// Fills `pollfds`: the wake pipe, the listener (unless accepting is paused), every client.
    private func preparePoll() -> Int {
        let now = system.monotonicNanoseconds()
        pollfds[0] = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
        pollfds[1] = pollfd(fd: now >= acceptPausedUntil ? listener : -1, events: Int16(POLLIN), revents: 0)
        for (i, client) in clients.enumerated() {
            var events: Int32 = 0
            if !client.closing { events |= Int32(POLLIN) }
            if !client.ring.isEmpty { events |= Int32(POLLOUT) }
            pollfds[i + 2] = pollfd(fd: client.fd, events: Int16(events), revents: 0)
        }
        return clients.count + 2
    }

    /// Milliseconds until the nearest stall deadline or the end of an accept pause; -1 for none.
    private func pollTimeout() -> Int32 {
        let now = system.monotonicNanoseconds()
        var deadline = UInt64.max
        for client in clients {
            if let since = client.stalledSince { deadline = min(deadline, since + stallNanoseconds) }
        }
        if acceptPausedUntil > now { deadline = min(deadline, acceptPausedUntil) }
        if deadline == .max { return -1 }
        if deadline <= now { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    private func drainWakePipe() {
        while true {
            let n = try? system.read(wake.read, into: readBuffer)
            if n == nil || n == 0 { return }
        }
    }

    /// Takes everything the other threads handed over and sends it; false when asked to stop.
    private func takeAndSendWork(now: UInt64) -> Bool {
        while true {
            let work = shared.withLock { state in
                state.wakePending = false
                let backlog = state.published - state.taken
                let lost = backlog > UInt64(state.slots.count) ? backlog - UInt64(state.slots.count) : 0
                state.taken += lost
                let boundary = state.models.first?.after ?? state.published
                var count = 0
                while state.taken < min(boundary, state.published) && count < batch.count {
                    batch[count].copy(from: state.slots[Int(state.taken % UInt64(state.slots.count))])
                    state.taken += 1
                    count += 1
                }
                var model: ModelInfo?
                if let first = state.models.first, state.taken >= first.after {
                    model = first.model
                    state.models.removeFirst()
                }
                let status = state.status
                state.status = nil
                return (count: count, lost: lost, model: model, status: status, stop: state.stopRequested)
            }
            if work.stop { return false }
            if work.lost > 0 {
                for client in clients { client.dropped += work.lost }
            }
            for i in 0..<work.count { sendResult(i, now: now) }
            if let model = work.model { apply(model, now: now) }
            if let status = work.status {
                lastStatus = status
                broadcastStatus(status, now: now)
            }
            if work.count == 0 && work.lost == 0 && work.model == nil && work.status == nil { return true }
        }
    }

    private func sendResult(_ index: Int, now: UInt64) {
        let mono = batch[index].monotonicNanoseconds
        for client in clients where !client.dead && !client.closing {
            if client.rateInterval > 0 {
                if mono < client.nextDue { continue }
                // Keep to the schedule so the average rate is the one asked for, but never bank
                // more than one interval after a pause.
                let next = client.nextDue + client.rateInterval
                client.nextDue = next > mono ? next : mono + client.rateInterval
            }
            var writer = JSONWriter(buffer: scratch)
            writer.result(batch[index], labels: model.labels, topK: client.topK, dropped: client.dropped)
            if checked(writer), deliver(writer.bytes, to: client, now: now) { client.dropped = 0 }
        }
    }

    private func apply(_ newModel: ModelInfo, now: UInt64) {
        model = newModel
        let size = Self.scratchSize(model: model, device: device, maxTopK: limits.maxTopK)
        if size > scratch.count {
            scratch.deallocate()
            scratch = .allocate(byteCount: size, alignment: 1)
        }
        var writer = JSONWriter(buffer: scratch)
        writer.hello(model: model, device: device)
        guard checked(writer) else { return }
        for client in clients where !client.dead && !client.closing { deliver(writer.bytes, to: client, now: now) }
    }

    private func broadcastStatus(_ status: StatusSnapshot, now: UInt64) {
        var status = status
        status.clients = clients.count
        var writer = JSONWriter(buffer: scratch)
        writer.status(status)
        guard checked(writer) else { return }
        for client in clients where !client.dead && !client.closing { deliver(writer.bytes, to: client, now: now) }
    }

    /// Whether the message fit the scratch buffer; logs the first that did not.
    private func checked(_ writer: JSONWriter) -> Bool {
        if !writer.overflowed { return true }
        if !overflowLogged {
            overflowLogged = true
            log("publisher: a message longer than \(scratch.count) bytes was not sent")
        }
        return false
    }

    /// Queues a whole message for `client`, sending at once what the socket takes when nothing is
    /// queued before it; false, and counted as dropped, when the ring has no room for it.
    @discardableResult
    private func deliver(_ message: UnsafeRawBufferPointer, to client: Client, now: UInt64) -> Bool {
        if client.dead { return false }
        guard message.count <= client.ring.free else {
            client.dropped += 1
            if client.stalledSince == nil { client.stalledSince = now }
            return false
        }
        if client.ring.isEmpty {
            let sent: Int
            do throws(Errno) { sent = try system.sendNow(client.fd, message) } catch {
                disconnected(client, error)
                return false
            }
            if sent > 0 { client.stalledSince = nil }
            if sent == message.count { return true }
            _ = client.ring.append(UnsafeRawBufferPointer(rebasing: message[sent...]))
            return true
        }
        return client.ring.append(message)
    }

    /// Sends queued bytes until the socket's buffer is full or the ring is empty.
    private func flush(_ client: Client) {
        while !client.ring.isEmpty && !client.dead {
            let chunk = client.ring.firstChunk
            let sent: Int
            do throws(Errno) { sent = try system.sendNow(client.fd, chunk) } catch {
                disconnected(client, error)
                return
            }
            if sent == 0 { return }
            client.stalledSince = nil
            client.ring.consume(sent)
            if sent < chunk.count { return }
        }
    }

    /// A failed send or read ends the connection; only the unexpected errors are worth a log line
    /// (a client going away shows as `EPIPE` or `ECONNRESET`).
    private func disconnected(_ client: Client, _ error: Errno) {
        client.dead = true
        if error.code != EPIPE && error.code != ECONNRESET { client.detachReason = "\(error)" }
    }

    /// Reads what the client sent, at most one buffer per wake-up so a flood cannot starve the
    /// others, and answers each complete line.
    private func readCommands(_ client: Client, now: UInt64) {
        let n: Int
        do throws(Errno) { n = try system.read(client.fd, into: readBuffer) } catch {
            if error.code != EAGAIN && error.code != EWOULDBLOCK { disconnected(client, error) }
            return
        }
        if n == 0 {
            if client.lineCount > 0 && !client.discarding { answer(client, now: now) }
            client.closing = true
            if !client.ring.isEmpty && client.stalledSince == nil { client.stalledSince = now }
            return
        }
        for i in 0..<n {
            let byte = readBuffer[i]
            if byte == UInt8(ascii: "\n") {
                if client.discarding { client.discarding = false } else { answer(client, now: now) }
                client.lineCount = 0
            } else if client.discarding {
                continue
            } else if client.lineCount == client.line.count {
                client.discarding = true
                client.lineCount = 0
                var writer = JSONWriter(buffer: scratch)
                writer.error(.tooLong(limit: client.line.count), line: EmptyCollection<UInt8>())
                if checked(writer) { deliver(writer.bytes, to: client, now: now) }
            } else {
                client.line[client.lineCount] = byte
                client.lineCount += 1
            }
        }
    }

    /// Carries out the command in `client.line` and queues its reply, if it has one.
    private func answer(_ client: Client, now: UInt64) {
        var line = UnsafeRawBufferPointer(rebasing: client.line[0..<client.lineCount])
        if line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.isEmpty { return }
        var writer = JSONWriter(buffer: scratch)
        switch ClientCommand.parse(line, maxTopK: limits.maxTopK) {
        case .success(.status):
            let provider = shared.withLock { $0.statusProvider }
            var status = provider?() ?? lastStatus
            status.clients = clients.count
            writer.status(status)
        case .success(.hello): writer.hello(model: model, device: device)
        case .success(.ping): writer.pong()
        case let .success(.top(k)):
            client.topK = k
            return
        case let .success(.rate(milliHertz)):
            client.rateInterval = milliHertz == 0 ? 0 : 1_000_000_000_000 / UInt64(milliHertz)
            client.nextDue = 0
            return
        case let .failure(error): writer.error(error, line: line)
        }
        if checked(writer) { deliver(writer.bytes, to: client, now: now) }
    }

    /// Accepts waiting connections, a bounded number per wake-up. Past `maxClients` a connection
    /// gets an error object and is closed. When the process is out of descriptors, accepting
    /// pauses for a second instead of spinning on a listener that stays readable.
    private func acceptClients(now: UInt64) {
        for _ in 0..<16 {
            let accepted: Int32?
            do throws(Errno) { accepted = try system.accept(listener) } catch {
                switch error.code {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    log("publisher: cannot accept clients (\(error.message)); pausing for 1 s")
                    acceptPausedUntil = now + 1_000_000_000
                default:
                    log("publisher: accept failed: \(error)")
                }
                return
            }
            guard let fd = accepted else { return }
            guard clients.count < limits.maxClients else {
                refuse(fd)
                continue
            }
            let client = Client(
                fd: fd, ringCapacity: max(limits.queueBytesPerClient, scratch.count), maxLineBytes: limits.maxLineBytes,
                topK: limits.defaultTopK)
            clients.append(client)
            connected.store(clients.count, ordering: .relaxed)
            var writer = JSONWriter(buffer: scratch)
            writer.hello(model: model, device: device)
            if checked(writer) { deliver(writer.bytes, to: client, now: now) }
        }
    }

    private func refuse(_ fd: Int32) {
        if !refusalLogged {
            refusalLogged = true
            log("publisher: refusing clients: \(limits.maxClients) connected")
        }
        var writer = JSONWriter(buffer: scratch)
        writer.tooManyClients(limits.maxClients)
        _ = try? system.sendNow(fd, writer.bytes)
        system.close(fd)
    }

    /// Detaches stalled clients, closes finished ones, and forgets both.
    private func sweep(now: UInt64) {
        var removed = false
        for client in clients {
            if !client.dead, let since = client.stalledSince, now >= since, now - since >= stallNanoseconds {
                client.dead = true
                if !client.closing {
                    client.detachReason = "read nothing for \(limits.stallTimeoutSeconds) s while its queue was full"
                }
            }
            if client.closing && client.ring.isEmpty { client.dead = true }
            if client.dead {
                if let reason = client.detachReason { log("publisher: detached client (fd \(client.fd)): \(reason)") }
                system.close(client.fd)
                removed = true
            }
        }
        if removed {
            clients.removeAll { $0.dead }
            connected.store(clients.count, ordering: .relaxed)
            if clients.count < limits.maxClients { refusalLogged = false }
        }
    }

    /// The last act of the publishing thread: a final status to everyone, up to half a second
    /// (or the stall timeout, if shorter) for it and anything queued to drain, then close all.
    private func shutDown() {
        var status = lastStatus
        status.online = false
        status.reason = "stopping"
        let now = system.monotonicNanoseconds()
        broadcastStatus(status, now: now)
        let deadline = now + min(500_000_000, stallNanoseconds)
        while true {
            var count = 0
            for client in clients where !client.dead && !client.ring.isEmpty {
                pollfds[count] = pollfd(fd: client.fd, events: Int16(POLLOUT), revents: 0)
                count += 1
            }
            let now = system.monotonicNanoseconds()
            if count == 0 || now >= deadline { break }
            let timeout = Int32((deadline - now + 999_999) / 1_000_000)
            if (try? system.poll(UnsafeMutableBufferPointer(rebasing: pollfds[0..<count]), timeoutMilliseconds: timeout)) == nil { break }
            for client in clients where !client.dead && !client.ring.isEmpty { flush(client) }
        }
        for client in clients { system.close(client.fd) }
        clients.removeAll()
        connected.store(0, ordering: .relaxed)
        closeListenerAndPipe()
    }
}
