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
    public let config: DaemonConfig
    let log: Log
    let classifier: FrameClassifier
    let source: any FrameSource
    let publisher: Publisher
    let metrics = Metrics()
    let model: ModelInfo
    private let stopping = Atomic<Bool>(false)
    /// The last state logged, so a failure that persists is logged once, not every retry.
    private var lastState: SourceState = .starting
    private var corruptSinceLog = 0
    private var lastCorruptLog: UInt64 = 0

    /// Loads the model, opens the source and binds the socket; any failure is one line naming
    /// what failed, before anything runs.
    public init(config: DaemonConfig, system: System = .live, log: Log, source: (any FrameSource)? = nil) throws(DaemonError) {
        self.config = config
        self.log = log
        do throws(ClassifierError) {
            classifier = try FrameClassifier(modelPath: config.model)
        } catch {
            throw DaemonError("model: \(error)")
        }
        let engineModel = classifier.engine.model
        model = ModelInfo(
            name: engineModel.config.name.isEmpty ? Self.fileName(config.model) : engineModel.config.name,
            sha256: engineModel.modelFile.sha256, labels: engineModel.labels,
            inputWidth: classifier.input.preprocessor.width, inputHeight: classifier.input.preprocessor.height,
            inputChannels: classifier.input.preprocessor.channels)
        if let source {
            self.source = source
        } else {
            self.source = try Self.makeSource(config, input: classifier.input.preprocessor, system: system)
        }
        let limits = PublisherLimits(
            maxClients: config.maxClients, queueBytesPerClient: config.clientQueueKiB * 1024,
            stallTimeoutSeconds: config.clientTimeoutSeconds, maxTopK: Self.maxTopK(labels: model.labels.count),
            defaultTopK: config.topK)
        do throws(PublisherError) {
            publisher = try Publisher(
                system: system, socketPath: config.socket, mode: mode_t(config.socketMode), model: model,
                device: self.source.name, limits: limits, log: { [log] in log.info($0) })
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
        do throws(ClassifierError) { classifier = try FrameClassifier(modelPath: config.model) } catch {
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
        return "model \(config.model) (\(p.width)x\(p.height)x\(p.channels), \(classifier.labels.count) labels), source \(source.name)"
    }

    /// Labels computed per frame: every label a client may ask for with `?top=K`, up to 20.
    static func maxTopK(labels: Int) -> Int { max(1, min(20, labels)) }

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
            let files = try FileSource(config.source, framesPerSecond: config.fps, system: system)
            if config.loop { return files }
            return try FileSource(config.source, framesPerSecond: config.fps, count: files.paths.count, system: system)
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
        log.notice("memory: \(memorySummary)")
        publisher.start()
        log.notice("serving \(config.socket) from \(source.name)")
        frameLoop()
        publisher.stop()
        source.close()
        log.notice("stopped after \(metrics.summary(now: Clocks.monotonic()).frames) results")
        return 0
    }

    private func frameLoop() {
        let loop = FrameLoop(daemon: self)
        while !stopping.load(ordering: .relaxed) {
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
        let now = Clocks.monotonic()
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
        guard state != lastState else { return }
        let previous = lastState
        lastState = state
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
    }

    /// The status every client can ask for; built on the publisher's thread.
    func status() -> StatusSnapshot {
        let m = metrics.summary(now: Clocks.monotonic())
        let counters = source.counters
        let online: Bool
        let reason: String
        switch source.state {
        case .starting: (online, reason) = (false, "starting")
        case let .online(detail): (online, reason) = (true, detail)
        case let .offline(why): (online, reason) = (false, why)
        case .finished: (online, reason) = (false, "finished")
        }
        return StatusSnapshot(
            device: source.name, online: online, reason: reason, fps: m.fps, frames: m.frames,
            skipped: counters.skipped &+ m.rateSkipped, corrupt: m.corrupt, reopens: counters.reopens,
            latencyP50Milliseconds: m.p50, latencyP90Milliseconds: m.p90, latencyP99Milliseconds: m.p99)
    }
}

/// Why lavitd could not start: one line.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
