#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LavitImage
import LavitInt8
import LavitModelFile

/// `lavit-quantize classify`: the int8 model on image files, preprocessed exactly as the daemon
/// preprocesses camera frames, so a model can be tried before it is deployed.
public struct Classify: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Print the top-k labels of image files (JPEG or PNG) with an int8 model.")

    @Argument(help: "An int8 model file written by lavit-quantize.")
    var model: String

    @Argument(help: "JPEG or PNG images.")
    var images: [String]

    @Option(name: [.customShort("k"), .long], help: "How many labels to print per image.")
    var topK = 3

    public init() {}

    public func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    public func run() throws {
        var failed = 0
        let classifier = try ImageClassifier(modelPath: model)
        for path in images {
            do {
                let ranked = try classifier.classify(path: path)
                print(Self.render(path: path, ranked: Array(ranked.prefix(topK))), terminator: "")
            } catch {
                failed += 1
                printError("\(error)")
            }
        }
        if failed > 0 { throw ExitCode.failure }
    }

    /// The image's path, then one aligned line per label: rank, label, probability.
    static func render(path: String, ranked: [(label: String, probability: Double)]) -> String {
        var out = ReportWriter()
        out.line(path)
        let rankWidth = String(ranked.count).count + 1
        let labelWidth = ranked.map(\.label.count).max() ?? 0
        for (rank, entry) in ranked.enumerated() {
            out.row(["", "\(rank + 1).", entry.label, Format.fixed(entry.probability * 100, 1) + "%"], [0, -rankWidth, labelWidth, -6])
        }
        return out.text
    }
}

/// Decode, preprocess and infer one image file; shared by `classify` and the quantizer's report.
final class ImageClassifier {
    let engine: Int8Engine
    private let preprocessor: Preprocessor
    private var input: [UInt8] = []

    init(modelPath: String) throws {
        engine = try Int8Engine(modelFile: ModelFile.load(path: modelPath))
        let p = engine.model.preprocess
        preprocessor = Preprocessor(height: p.height, width: p.width, channels: p.channels)
    }

    /// The preprocessed uint8 input for `path`, as the engine takes it.
    func load(path: String) throws -> [UInt8] {
        preprocessor(try ImageDecoder.decode(path: path), into: &input)
        return input
    }

    func classify(path: String) throws -> [(label: String, probability: Double)] {
        let pixels = try load(path: path)
        let logits = try pixels.withUnsafeBufferPointer { buffer throws(Int8EngineError) in
            Array(try engine.infer(image: buffer))
        }
        return Softmax.ranked(logits: logits, scale: engine.model.logitScale, labels: engine.model.labels)
    }
}

enum Softmax {
    /// Display only: the engine's integer logits to probabilities, most likely first.
    static func ranked(logits: [Int32], scale: Double, labels: [String]) -> [(label: String, probability: Double)] {
        let real = logits.map { Double($0) * scale }
        let top = real.max() ?? 0
        let e = real.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return zip(labels, e).map { ($0, $1 / sum) }.sorted { $0.probability > $1.probability }
    }
}

func printError(_ message: String) {
    writeStderr("error: \(message)\n")
}

func printWarning(_ message: String) {
    writeStderr("warning: \(message)\n")
}
