#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LavitKernels
import LavitModelFile
import LavitPipeline
import LavitSystem
import LavitText

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

    @Option(help: "Inference threads (0: one per processor online). Results do not depend on it.")
    var threads = 0

    @Option(help: "Engine kernels: auto (the fastest this CPU runs), or \(Kernels.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kernels = "auto"

    public init() {}

    public func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be in 0...256") }
        _ = try chosenKernels()
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    public func run() throws {
        var failed = 0
        let classifier = try FrameClassifier(
            modelPath: model, kernels: chosenKernels(), threads: threads > 0 ? threads : System.onlineProcessorCount)
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

    /// `--kernels`, checked against this CPU.
    func chosenKernels() throws -> Kernels {
        if kernels == "auto" { return .best }
        guard let chosen = Kernels(rawValue: kernels) else {
            throw ValidationError("--kernels must be auto or one of \(Kernels.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let reason = chosen.unsupportedReason { throw ValidationError("--kernels \(kernels) cannot run here: \(reason)") }
        return chosen
    }

    /// The image's path, then one aligned line per label: rank, label, probability.
    static func render(path: String, ranked: [(label: String, probability: Double)]) -> String {
        var out = ReportWriter()
        out.line(path)
        let rankWidth = String(ranked.count).count + 1
        let labelWidth = ranked.map { escapedControls($0.label).count }.max() ?? 0
        for (rank, entry) in ranked.enumerated() {
            out.row(["", "\(rank + 1).", entry.label, Format.fixed(entry.probability * 100, 1) + "%"], [0, -rankWidth, labelWidth, -6])
        }
        return out.text
    }
}

/// Messages carry paths, names and labels from files: escaped, so each stays one line.
func printError(_ message: String) {
    writeStderr("error: \(escapedControls(message))\n")
}

func printWarning(_ message: String) {
    writeStderr("warning: \(escapedControls(message))\n")
}
