import LavitCapture
import LavitPipeline
import LavitPublisher
import LavitSystem

/// One turn of lavitd's frame loop per `step`: the freshest frame, classified, published. Every
/// buffer is made at init, so steps allocate nothing (TurboJPEG's per-decode pools aside); a
/// test drives steps directly to prove it.
final class FrameLoop {
    enum Step: Equatable {
        /// A result went to the publisher.
        case published
        /// A frame came but was not classified: over `rate`, or it did not decode.
        case skipped
        /// No frame in this short wait (camera silent or offline, files paced).
        case waiting
        /// The source has nothing more, or the `frames` limit is reached.
        case finished
    }

    private let daemon: Daemon
    private var prediction: Prediction
    private let indices: UnsafeMutableBufferPointer<Int>
    private let scores: UnsafeMutableBufferPointer<Double>
    private var minimumInterval: UInt64
    private var lastInference: UInt64 = 0
    private(set) var sequence: UInt64 = 0
    private var pendingSkips = 0

    init(daemon: Daemon) {
        self.daemon = daemon
        prediction = Prediction(maxTopK: Daemon.maxTopK)
        indices = .allocate(capacity: Daemon.maxTopK)
        indices.initialize(repeating: 0)
        scores = .allocate(capacity: Daemon.maxTopK)
        scores.initialize(repeating: 0)
        minimumInterval = Self.interval(rate: daemon.config.rate)
    }

    static func interval(rate: Double) -> UInt64 { rate > 0 ? UInt64(1e9 / rate) : 0 }

    deinit {
        indices.deallocate()
        scores.deallocate()
    }

    func step() -> Step {
        if daemon.adoptReload() { minimumInterval = Self.interval(rate: daemon.config.rate) }
        let source = daemon.source
        // Short waits, so a stop request or a watchdog never waits on a silent camera.
        guard let frame = source.nextFrame(timeoutMilliseconds: 200) else {
            return source.state == .finished ? .finished : .waiting
        }
        defer { source.releaseFrame() }
        let now = System.live.monotonicNanoseconds()
        if minimumInterval > 0 && lastInference != 0 && now &- lastInference < minimumInterval {
            pendingSkips &+= frame.skipped &+ 1
            daemon.metrics.recordRateSkip(frame.skipped &+ 1)
            return .skipped
        }
        lastInference = now
        let classifier = daemon.classifier
        do throws(ClassifierError) {
            try classifier.classify(frame.payload)
        } catch {
            daemon.corruptFrame(error)
            pendingSkips &+= frame.skipped &+ 1
            return .skipped
        }
        sequence &+= 1
        let count = classifier.top(min(Daemon.maxTopK, classifier.labels.count), indices: indices, scores: scores)
        prediction.sequence = sequence
        prediction.monotonicNanoseconds = frame.monotonicNanoseconds
        prediction.wallNanoseconds = frame.wallNanoseconds
        prediction.topCount = count
        for i in 0..<count {
            prediction.labelIndices[i] = indices[i]
            prediction.scores[i] = scores[i]
        }
        prediction.grabNanoseconds = frame.grabNanoseconds
        prediction.decodeNanoseconds = classifier.decodeNanoseconds
        prediction.inferNanoseconds = classifier.inferNanoseconds
        prediction.skipped = frame.skipped &+ pendingSkips
        prediction.file = frame.file
        pendingSkips = 0
        daemon.publisher.publish(prediction)
        daemon.metrics.record(
            latencyNanoseconds: frame.grabNanoseconds &+ classifier.decodeNanoseconds &+ classifier.inferNanoseconds,
            at: frame.monotonicNanoseconds, counters: source.counters)
        let limit = daemon.config.frames
        return limit > 0 && sequence >= UInt64(limit) ? .finished : .published
    }
}
