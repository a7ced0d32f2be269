#if canImport(Glibc)
import Glibc
#endif
import LavitCapture
import LavitImage
import LavitPipeline
import LavitPublisher
import LavitSystem
import Synchronization

/// lavitd: a frame source, the classifier and the publisher, composed. Two threads: the frame
/// loop (the thread that calls `run`) grabs the freshest frame, classifies it and hands the result
/// to the publisher; the publisher's own thread serves the socket. Draining the capture queue at
/// the top of every loop gives the freshest frame without a third thread and its hand-off.
///
/// Nothing here knows a camera from a file, or a socket from a test: the source and the system
/// calls come in from outside.
public final class Daemon: @unchecked Sendable {
    /// The configuration in force; replaced by a reload, on the frame thread.
    public private(set) var config: DaemonConfig
    let log: Log
    /// Owned by the frame thread once `run` starts; a reload hands it a new one (`adoptReload`).
    private(set) var classifier: FrameClassifier
    let source: any FrameSource
    let publisher: Publisher
    let notifier: SystemdNotifier
    let metrics = Metrics()
    private(set) var model: ModelInfo
    private let stopping = Atomic<Bool>(false)
    /// A model loaded and checked by `reload` on another thread, waiting for the frame thread.
    private let pending = Mutex<Reloaded?>(nil)
    /// The configuration the last reload accepted (the running one until then); holding its lock
    /// serialises reloads, so a second SIGHUP while one loads waits for it.
    private let reloadBase: Mutex<DaemonConfig>
    /// The last reload's failure, for `status`; empty after a good one.
    private let reloadError = Mutex("")

    /// What a reload hands over. The classifier is made on the reloading thread and used only by
    /// the frame thread after the hand-over, never by both.
    final class Reloaded: @unchecked Sendable {
        let config: DaemonConfig
        let classifier: FrameClassifier
        let model: ModelInfo

        init(config: DaemonConfig, classifier: FrameClassifier, model: ModelInfo) {
            self.config = config
            self.classifier = classifier
            self.model = model
        }
    }
    private var corruptSinceLog = 0
    private var lastCorruptLog: UInt64 = 0

    /// Loads the model, opens the source and binds the socket; any failure is one line naming
    /// what failed, before anything runs.
    ///
    /// With `listeningDescriptor` (systemd socket activation) the socket already exists and
    /// clients may already be waiting in its backlog; they are accepted, and get their `hello`,
    /// once the model has loaded.
    public init(
        config: DaemonConfig, system: System = .live, log: Log, source: (any FrameSource)? = nil,
        listeningDescriptor: Int32? = nil, notifier: SystemdNotifier? = nil
    ) throws(DaemonError) {
        self.config = config
        reloadBase = Mutex(config)
        self.log = log
        self.notifier = notifier ?? SystemdNotifier(environment: [:], system: system)
        classifier = try Self.loadClassifier(config)
        model = Self.modelInfo(classifier, path: config.model)
        if let source {
            self.source = source
        } else {
            self.source = try Self.makeSource(config, input: classifier.input.preprocessor, system: system)
        }
        let limits = PublisherLimits(
            maxClients: config.maxClients, queueBytesPerClient: config.clientQueueKiB * 1024,
            stallTimeoutSeconds: config.clientTimeoutSeconds, maxTopK: Self.maxTopK,
            defaultTopK: config.topK)
        do throws(PublisherError) {
            if let listeningDescriptor {
                publisher = try Publisher(
                    system: system, listeningDescriptor: listeningDescriptor, model: model, device: self.source.name,
                    limits: limits, log: { [log] in log.info($0) })
            } else {
                publisher = try Publisher(
                    system: system, socketPath: config.socket, mode: mode_t(config.socketMode), model: model,
                    device: self.source.name, limits: limits, log: { [log] in log.info($0) })
            }
        } catch {
            self.source.close()
            throw DaemonError("socket: \(error)")
        }
        self.source.onStateChange = { [unowned self] state in sourceChanged(state) }
        publisher.statusProvider = { [unowned self] in status() }
    }

    /// What `lavitd --check` verifies without serving: the model loads and plans, and the source
    /// exists (image files are found; a camera path is a character device). Returns a summary.
    public static func check(_ config: DaemonConfig, system: System = .live) throws(DaemonError) -> String {
        let classifier: FrameClassifier
        do throws(ClassifierError) {
            classifier = try FrameClassifier(modelPath: config.model, kernels: config.kernels ?? .best, threads: config.inferenceThreads)
        } catch {
            throw DaemonError("model: \(error)")
        }
        let source = try makeSource(config, input: classifier.input.preprocessor, system: system)
        defer { source.close() }
        if source is CameraSource {
            var info = stat()
            guard stat(config.source, &info) == 0 else {
                throw DaemonError("source: \(config.source): \(String(cString: strerror(errno)))")
            }
            guard info.st_mode & S_IFMT == S_IFCHR else { throw DaemonError("source: \(config.source): not a device") }
        }
        let p = classifier.input.preprocessor
        return "model \(config.model) (\(p.width)x\(p.height)x\(p.channels), \(classifier.labels.count) labels, kernels \(classifier.engine.kernels.rawValue), \(classifier.engine.threadCount) threads), source \(source.name)"
    }

    /// Most labels a client may ask for with `?top=K`; a frame computes this many, or all of the
    /// model's labels if it has fewer. Fixed, so a reloaded model with more labels fits.
    static let maxTopK = 20

    static func loadClassifier(_ config: DaemonConfig) throws(DaemonError) -> FrameClassifier {
        do throws(ClassifierError) {
            return try FrameClassifier(modelPath: config.model, kernels: config.kernels ?? .best, threads: config.inferenceThreads)
        } catch {
            throw DaemonError("model: \(error)")
        }
    }

    /// What clients are told of a model: its config's name, else the file's name.
    static func modelInfo(_ classifier: FrameClassifier, path: String) -> ModelInfo {
        let engineModel = classifier.engine.model
        let p = classifier.input.preprocessor
        return ModelInfo(
            name: engineModel.config.name.isEmpty ? fileName(path) : engineModel.config.name,
            sha256: engineModel.modelFile.sha256, labels: engineModel.labels,
            inputWidth: p.width, inputHeight: p.height, inputChannels: p.channels)
    }

    /// SIGHUP: loads and checks `newConfig`'s model beside the running one, on the calling
    /// thread, and hands it to the frame thread, which swaps at its next turn; clients then get a
    /// new `hello`. If anything fails, the old model keeps serving and the log and the status
    /// say why. Keys that need a restart (source, socket, capture and client limits) are named
    /// in the log and left as they are.
    public func reload(_ newConfig: DaemonConfig) {
        reloadBase.withLock { current in
            notifier.reloading()
            defer { notifier.notify("READY=1\nSTATUS=\(statusLine())") }
            let fixed = Self.restartOnlyKeys(current, newConfig)
            if !fixed.isEmpty { log.warning("reload: \(fixed.joined(separator: ", ")) changed; restart lavitd to apply") }
            let loaded: FrameClassifier
            do throws(DaemonError) {
                loaded = try Self.loadClassifier(newConfig)
            } catch {
                log.error("reload failed, the old model keeps serving: \(error)")
                reloadError.withLock { $0 = error.description }
                publisher.publishStatus(status())
                return
            }
            let info = Self.modelInfo(loaded, path: newConfig.model)
            var applied = newConfig
            applied.source = current.source
            applied.socket = current.socket
            applied.socketMode = current.socketMode
            current = applied
            reloadError.withLock { $0 = "" }
            pending.withLock { $0 = Reloaded(config: applied, classifier: loaded, model: info) }
            log.notice("reload: model \(info.name) (\(newConfig.model), sha256 \(info.sha256.prefix(12))) loaded; serving it from the next frame")
        }
    }

    /// Keys a reload cannot change in a running daemon.
    static func restartOnlyKeys(_ old: DaemonConfig, _ new: DaemonConfig) -> [String] {
        var keys: [String] = []
        if old.source != new.source { keys.append("source") }
        if old.socket != new.socket { keys.append("socket") }
        if old.socketMode != new.socketMode { keys.append("socket_mode") }
        if old.width != new.width || old.height != new.height { keys.append("width/height") }
        if old.fps != new.fps { keys.append("fps") }
        if old.buffers != new.buffers { keys.append("buffers") }
        if old.frameTimeoutMilliseconds != new.frameTimeoutMilliseconds { keys.append("frame_timeout_ms") }
        if old.retryMilliseconds != new.retryMilliseconds { keys.append("retry_ms") }
        if old.maxClients != new.maxClients { keys.append("max_clients") }
        if old.clientQueueKiB != new.clientQueueKiB { keys.append("client_queue_kib") }
        if old.clientTimeoutSeconds != new.clientTimeoutSeconds { keys.append("client_timeout_s") }
        if old.topK != new.topK { keys.append("top_k") }
        return keys
    }

    /// On the frame thread: takes a reloaded model if one waits. Returns whether it swapped.
    func adoptReload() -> Bool {
        guard let reloaded = pending.withLock({ slot -> Reloaded? in
            let taken = slot
            slot = nil
            return taken
        }) else { return false }
        classifier = reloaded.classifier
        model = reloaded.model
        config = reloaded.config
        publisher.replaceModel(reloaded.model)
        return true
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// A device path (anything under /dev, or a character device) opens a camera; anything else
    /// is image files. The camera opens on the first frame asked for, so lavitd starts, and
    /// serves clients, before a camera is plugged in.
    static func makeSource(_ config: DaemonConfig, input: Preprocessor, system: System) throws(DaemonError) -> any FrameSource {
        var info = stat()
        let isDevice = config.source.hasPrefix("/dev/") || (stat(config.source, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        do throws(CaptureError) {
            if isDevice {
                let size: FrameSize = config.width > 0 && config.height > 0
                    ? .exactly(width: config.width, height: config.height)
                    : .atLeast(width: input.width, height: input.height)
                let camera = CameraConfiguration(
                    path: config.source, size: size, framesPerSecond: max(1, Int(config.fps.rounded())),
                    bufferCount: config.buffers, frameTimeoutMilliseconds: config.frameTimeoutMilliseconds,
                    retryIntervalMilliseconds: config.retryMilliseconds)
                return try CameraSource(camera, system: system, openNow: false)
            }
            return try FileSource(config.source, framesPerSecond: config.fps, loop: config.loop, system: system)
        } catch {
            throw DaemonError("source: \(error)")
        }
    }

    /// Asks the frame loop to finish; safe from any thread.
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// What lavitd holds, for the start-up log line.
    public var memorySummary: String {
        let arena = classifier.engine.arenaByteCount
        let modelBytes = classifier.engine.model.modelFile.tensors.reduce(0) { $0 + $1.byteCount }
            + classifier.engine.model.preparedByteCount
        let queues = config.maxClients * config.clientQueueKiB * 1024
        return "model \(Self.kib(modelBytes)), engine arena \(Self.kib(arena)), client queues up to \(Self.kib(queues)), resident now \(Self.kib(Self.residentBytes()))"
    }

    static func kib(_ bytes: Int) -> String { "\((bytes + 1023) / 1024) KiB" }

    /// VmRSS from /proc/self/status, 0 if unreadable.
    static func residentBytes() -> Int {
        guard let bytes = try? System.live.readFile("/proc/self/status", limit: 1 << 16),
              let text = String(validating: bytes, as: UTF8.self),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let digits = line.filter(\.isNumber)
        return (Int(digits) ?? 0) * 1024
    }

    /// Runs until `stop`, a `frames` limit, or a file source that has finished; returns the exit
    /// status.
    public func run() -> Int32 {
        log.notice("model \(model.name) (\(config.model), sha256 \(model.sha256.prefix(12))), input \(model.inputWidth)x\(model.inputHeight)x\(model.inputChannels), \(model.labels.count) labels")
        log.notice("engine: kernels \(classifier.engine.kernels.rawValue), \(classifier.engine.threadCount) threads")
        log.notice("memory: \(memorySummary)")
        publisher.start()
        log.notice("serving \(config.socket) from \(source.name)")
        // Ready with or without a camera: "no device" is a running state, not a failed start.
        notifier.notify("READY=1\nSTATUS=\(statusLine())")
        frameLoop()
        notifier.notify("STOPPING=1")
        publisher.stop()
        source.close()
        log.notice("stopped after \(metrics.summary(now: System.live.monotonicNanoseconds()).frames) results")
        return 0
    }

    /// One line for systemctl status: the device state and the result rate.
    func statusLine() -> String {
        let s = status()
        let state = s.online ? "online" : "offline"
        let rate = (s.fps * 10).rounded() / 10
        return "\(s.device) \(state) (\(s.reason)), \(rate) results/s, \(s.frames) results"
    }

    private func frameLoop() {
        let loop = FrameLoop(daemon: self)
        while !stopping.load(ordering: .relaxed) {
            // From the loop itself: a wedged capture or inference stops the pings, and systemd's
            // watchdog restarts lavitd; a camera that is merely absent keeps the loop turning.
            notifier.watchdog(now: System.live.monotonicNanoseconds())
            switch loop.step() {
            case .published, .skipped, .waiting: continue
            case .finished: return
            }
        }
    }

    /// A frame that does not decode is counted and skipped. The first is logged with its reason;
    /// after that at most one line a minute says how many more there were.
    func corruptFrame(_ error: ClassifierError) {
        metrics.recordCorrupt()
        let now = System.live.monotonicNanoseconds()
        if lastCorruptLog == 0 {
            log.warning("corrupt frame skipped: \(error)")
            lastCorruptLog = now
        } else {
            corruptSinceLog += 1
            if now &- lastCorruptLog >= 60_000_000_000 {
                log.warning("\(corruptSinceLog) more corrupt frames skipped in the last minute, the latest: \(error)")
                corruptSinceLog = 0
                lastCorruptLog = now
            }
        }
    }

    /// Every change goes to clients as a status; the log gets one line per transition, so a
    /// camera that stays away (its reopen failing each retry, perhaps for another reason than the
    /// unplug's) is logged once.
    private func sourceChanged(_ state: SourceState) {
        let previous = metrics.setSource(state: state, counters: source.counters)
        guard state != previous else { return }
        switch (previous, state) {
        case (_, .starting), (.offline, .offline): break
        case let (_, .online(detail)):
            if case .online = previous { break }
            log.notice("\(source.name) online: \(detail)")
        case let (_, .offline(reason)): log.warning("\(source.name) offline: \(reason)")
        case (_, .finished):
            if !stopping.load(ordering: .relaxed) { log.notice("\(source.name): all frames read") }
        }
        publisher.publishStatus(status())
        notifier.notify("STATUS=\(statusLine())")
    }

    /// The status every client can ask for; built on the publisher's thread from what the frame
    /// thread recorded in `metrics`, never from the source itself, which that thread owns.
    func status() -> StatusSnapshot {
        let m = metrics.summary(now: System.live.monotonicNanoseconds())
        let counters = m.sourceCounters
        let online: Bool
        let reason: String
        switch m.sourceState {
        case .starting: (online, reason) = (false, "starting")
        case let .online(detail): (online, reason) = (true, detail)
        case let .offline(why): (online, reason) = (false, why)
        case .finished: (online, reason) = (false, "finished")
        }
        return StatusSnapshot(
            device: source.name, online: online, reason: reason, fps: m.fps, frames: m.frames,
            skipped: counters.skipped &+ m.rateSkipped, corrupt: m.corrupt, reopens: counters.reopens,
            latencyP50Milliseconds: m.p50, latencyP90Milliseconds: m.p90, latencyP99Milliseconds: m.p99,
            reloadError: reloadError.withLock { $0 })
    }
}

/// Why lavitd could not start: one line.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
