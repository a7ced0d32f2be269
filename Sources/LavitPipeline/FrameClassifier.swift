#if canImport(Glibc)
import Glibc
#endif
import LavitImage
import LavitInt8
import LavitKernels
import LavitModelFile
import LavitSystem

/// Decode -> preprocess -> int8 engine -> probabilities, for one frame at a time. Every buffer
/// is allocated at init, so classifying a stream allocates nothing (TurboJPEG's own per-decode
/// pools aside; see `ModelInput`). Not thread-safe: one per inference thread.
public final class FrameClassifier {
    public let engine: Int8Engine
    public let input: ModelInput
    public var labels: [String] { engine.model.labels }
    private let pixels: UnsafeMutableBufferPointer<UInt8>
    /// Softmax of the last frame's logits, in label order.
    public let probabilities: UnsafeMutableBufferPointer<Double>
    /// Time the last `classify` spent decoding and preprocessing, and in the engine.
    public private(set) var decodeNanoseconds: UInt64 = 0
    public private(set) var inferNanoseconds: UInt64 = 0

    public init(engine: Int8Engine) throws(PipelineError) {
        self.engine = engine
        input = try ModelInput(engine.model.preprocess)
        pixels = .allocate(capacity: input.byteCount)
        pixels.initialize(repeating: 0)
        probabilities = .allocate(capacity: engine.model.labels.count)
        probabilities.initialize(repeating: 0)
    }

    /// Loads, checks and plans the model file at `path` for `kernels`, on `threads` threads.
    public convenience init(modelPath: String, kernels: Kernels = .best, threads: Int = 1) throws(ClassifierError) {
        let file: ModelFile
        do throws(ModelFileError) { file = try ModelFile.load(path: modelPath) } catch { throw .modelFile(error) }
        let engine: Int8Engine
        do throws(Int8EngineError) { engine = try Int8Engine(modelFile: file, kernels: kernels, threads: threads) } catch {
            throw .engine(error)
        }
        do throws(PipelineError) { try self.init(engine: engine) } catch { throw .pipeline(modelPath, error) }
    }

    deinit {
        pixels.deallocate()
        probabilities.deallocate()
    }

    /// Classifies one frame; `probabilities` holds the result until the next call.
    public func classify(_ payload: FramePayload) throws(ClassifierError) {
        let start = System.live.monotonicNanoseconds()
        do throws(ImageError) { try input.prepare(payload, into: pixels) } catch { throw .image(error) }
        let prepared = System.live.monotonicNanoseconds()
        try infer()
        decodeNanoseconds = prepared &- start
        inferNanoseconds = System.live.monotonicNanoseconds() &- prepared
    }

    /// Classifies a model input already prepared (`input.byteCount` bytes).
    public func classify(prepared: [UInt8]) throws(ClassifierError) {
        guard prepared.count == pixels.count else {
            throw .engine(Int8EngineError(source: engine.model.modelFile.source, reason: .imageSize(
                count: prepared.count, expected: pixels.count, height: input.preprocessor.height,
                width: input.preprocessor.width, channels: input.preprocessor.channels)))
        }
        _ = pixels.initialize(from: prepared)
        try infer()
    }

    private func infer() throws(ClassifierError) {
        let logits: UnsafeBufferPointer<Int32>
        do throws(Int8EngineError) { logits = try engine.infer(image: UnsafeBufferPointer(pixels)) } catch { throw .engine(error) }
        Ranking.softmax(logits: logits, scale: engine.model.logitScale, into: probabilities)
    }

    /// The `k` most probable labels of the last frame into `indices` and `scores` (each at
    /// least `k` long), most likely first, ties to the lower index; returns how many were written.
    public func top(_ k: Int, indices: UnsafeMutableBufferPointer<Int>, scores: UnsafeMutableBufferPointer<Double>) -> Int {
        Ranking.top(k, of: UnsafeBufferPointer(probabilities), indices: indices, scores: scores)
    }

    /// Every label of the last frame with its probability, most likely first. Allocates: for
    /// commands, not the frame loop.
    public func ranked() -> [(label: String, probability: Double)] {
        let count = probabilities.count
        var indices = [Int](repeating: 0, count: count)
        var scores = [Double](repeating: 0, count: count)
        let n = indices.withUnsafeMutableBufferPointer { i in
            scores.withUnsafeMutableBufferPointer { s in top(count, indices: i, scores: s) }
        }
        return (0..<n).map { (labels[indices[$0]], scores[$0]) }
    }

    /// Reads, decodes and classifies an image file, exactly as a camera frame would be.
    public func classify(path: String) throws(ClassifierError) -> [(label: String, probability: Double)] {
        let bytes: [UInt8]
        do throws(ImageError) { bytes = try ImageDecoder.read(path: path) } catch { throw .image(error) }
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ClassifierError) in try classify(.compressed(raw)) }
        }
        do throws(ClassifierError) { try result.get() } catch {
            if case let .image(image) = error { throw .image(ImageError(file: path, image.reason)) }
            throw error
        }
        return ranked()
    }
}

/// Why a frame or a model could not be classified; one line.
public enum ClassifierError: Error, CustomStringConvertible {
    case modelFile(ModelFileError)
    case engine(Int8EngineError)
    case pipeline(String, PipelineError)
    case image(ImageError)

    public var description: String {
        switch self {
        case let .modelFile(error): "\(error)"
        case let .engine(error): "\(error)"
        case let .pipeline(path, error): "\(path): \(error)"
        case let .image(error): "\(error)"
        }
    }
}
