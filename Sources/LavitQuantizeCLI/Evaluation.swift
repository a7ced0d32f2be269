#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LavitFloat
import LavitImage
import LavitInt8
import LavitModel
import LavitModelFile
import LavitPipeline
import LavitQuantize
import Synchronization

/// How far int8 is from float on a set of images: top-1 agreement, accuracy where labels are
/// known, and per-layer signal-to-quantisation-noise, so a user sees where precision goes.
struct Evaluation: Sendable {
    var images = 0
    /// Images that could not be decoded, each reported on stderr as it was met.
    var unreadable = 0
    var agree = 0
    var labelled = 0
    var floatCorrect = 0
    var int8Correct = 0
    /// Per tap: sum of float^2 and of (float - dequantized int8)^2.
    var energy: [String: (signal: Double, noise: Double)] = [:]
    /// Taps in graph order, for printing.
    var tapOrder: [String] = []

    mutating func merge(_ other: Evaluation) {
        images += other.images
        unreadable += other.unreadable
        agree += other.agree
        labelled += other.labelled
        floatCorrect += other.floatCorrect
        int8Correct += other.int8Correct
        for name in other.tapOrder where energy[name] == nil { tapOrder.append(name) }
        for (name, e) in other.energy {
            let mine = energy[name] ?? (0, 0)
            energy[name] = (mine.signal + e.signal, mine.noise + e.noise)
        }
    }

    /// 10 log10(signal / noise); nil when the tap is exact.
    func sqnr(_ name: String) -> Double? {
        guard let e = energy[name], e.noise > 0, e.signal > 0 else { return nil }
        return 10 * log10(e.signal / e.noise)
    }
}

/// Scales of every activation, from the model file's metadata (reports only).
private struct ScalesMetadata: Decodable {
    var scales: [String: [Double]]
}

enum Evaluator {
    /// Runs float and int8 side by side over `entries` on `threads` threads; the first
    /// `sqnrImages` images also compare every tap.
    static func run(
        weights: Weights, modelFile: ModelFile, entries: [ImageFolder.Entry], sqnrImages: Int, threads: Int
    ) throws -> Evaluation {
        let scales = try modelFile.decodeMetadata(ScalesMetadata.self).scales
        let model = try Int8Model(modelFile: modelFile)
        let progress = Mutex(Progress("evaluating", total: entries.count))
        let results = Mutex<[Result<Evaluation, any Error>]>([])
        let workers = max(1, min(threads, entries.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let result = Result { () throws -> Evaluation in
                let engine = try Int8Engine(model: model)
                let floatEngine = FloatEngine(weights: weights)
                let input = try ModelInput(model.preprocess)
                var partial = Evaluation()
                for index in stride(from: worker, to: entries.count, by: workers) {
                    defer { progress.withLock { $0.advance() } }
                    let pixels: [UInt8]
                    do {
                        pixels = try input.prepare(path: entries[index].path)
                    } catch {
                        printWarning("skipping evaluation image: \(error)")
                        partial.unreadable += 1
                        continue
                    }
                    try compare(
                        pixels: pixels, label: entries[index].label, tapsToo: index < sqnrImages,
                        floatEngine: floatEngine, engine: engine, scales: scales, into: &partial)
                }
                return partial
            }
            results.withLock { $0.append(result) }
        }
        var total = Evaluation()
        for result in results.withLock({ $0 }) {
            total.merge(try result.get())
        }
        return total
    }

    private static func compare(
        pixels: [UInt8], label: Int?, tapsToo: Bool, floatEngine: FloatEngine, engine: Int8Engine,
        scales: [String: [Double]], into e: inout Evaluation
    ) throws {
        let input = try FloatInput.make(u8: pixels, config: floatEngine.weights.config)
        var floatTaps: [String: [Float]] = [:]
        let floatOut: FloatOutput
        if tapsToo {
            floatOut = try floatEngine.forward(input: input) { tap, tensor in
                if tap.site != .scores { floatTaps[tap.description] = tensor.data }
            }
        } else {
            floatOut = try floatEngine.forward(input: input)
        }
        let logitScale = engine.model.logitScale
        let int8Logits = try pixels.withUnsafeBufferPointer { image in
            if !tapsToo { return Array(try engine.infer(image: image)) }
            return Array(
                try engine.infer(image: image) { tap in
                    let name = tap.id.description
                    guard let reference = floatTaps[name] else { return }
                    let (s, z): (Double, Double)
                    switch tap.id.site {
                    case .logits: (s, z) = (logitScale, 0)
                    default:
                        guard let sz = scales[name], sz.count == 2 else { return }
                        (s, z) = (sz[0], sz[1])
                    }
                    let q = tap.integers
                    guard q.count == reference.count else { return }
                    var signal = 0.0, noise = 0.0
                    for i in 0..<q.count {
                        let f = Double(reference[i])
                        let d = f - s * (Double(q[i]) - z)
                        signal += f * f
                        noise += d * d
                    }
                    if e.energy[name] == nil { e.tapOrder.append(name) }
                    let old = e.energy[name] ?? (0, 0)
                    e.energy[name] = (old.signal + signal, old.noise + noise)
                })
        }
        let floatTop = argmax(floatOut.logits.data)
        let int8Top = argmax(int8Logits)
        e.images += 1
        if floatTop == int8Top { e.agree += 1 }
        if let label {
            e.labelled += 1
            if floatTop == label { e.floatCorrect += 1 }
            if int8Top == label { e.int8Correct += 1 }
        }
    }

    static func argmax<T: Comparable>(_ values: [T]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}

