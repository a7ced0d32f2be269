import ArgumentParser
import FoundationEssentials
import LavitCheckpoint
import LavitImage
import LavitModel
import LavitModelFile
import LavitPipeline
import LavitQuantize
import LavitSystem
import LavitText

/// `lavit-quantize CHECKPOINT --calibration DIR -o MODEL`: post-training quantization, then a
/// report of how far int8 is from float.
public struct Quantize: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Quantize a float checkpoint to an int8 model file, calibrating on a folder of images.",
        discussion: """
            Images (JPEG/PNG, searched recursively) are centre-cropped and resized exactly as the \
            daemon does with camera frames. The report compares float and int8 on --eval (an \
            ImageFolder tree, DIR/<index>_<label>/*.png, for accuracy) or on the calibration images.
            """)

    @Argument(help: "A float checkpoint (.pth, .pt or .safetensors).")
    var checkpoint: String

    @Option(help: "Folder of calibration images.")
    var calibration: String

    @Option(name: [.customShort("o"), .long], help: "Where to write the int8 model file.")
    var output: String

    @Option(help: "A named architecture, when the checkpoint records none: \(Config.variantNames.joined(separator: ", ")).")
    var variant: String?

    @Option(name: .customLong("config"), help: "A JSON config file, when the checkpoint records none.")
    var configFile: String?

    @Option(help: "Class names, one per line (default: class0, class1, ...).")
    var labels: String?

    @Option(help: "At most this many calibration images, spread evenly over the folder.")
    var calibrationImages = 256

    @Option(help: "Folder of labelled evaluation images for the report (ImageFolder layout).")
    var eval: String?

    @Option(help: "Images whose every layer is compared for the per-layer SQNR table.")
    var sqnrImages = 8

    @Option(help: "Worker threads for calibration and evaluation.")
    var threads = 2

    public init() {}

    public func validate() throws {
        if variant != nil && configFile != nil { throw ValidationError("give --variant or --config, not both") }
        guard calibrationImages >= 1 else { throw ValidationError("--calibration-images must be at least 1") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        guard sqnrImages >= 0 else { throw ValidationError("--sqnr-images must be >= 0") }
    }

    public func run() throws {
        let started = Progress.now()
        let ckpt = try Checkpoint.load(path: checkpoint)
        let (config, source) = try ConfigResolver.resolve(
            variant: variant, configFile: configFile, metadata: ckpt.config, metadataError: ckpt.configError)
        try ConfigResolver.validate(config, source, checkpoint: checkpoint)
        let weights: Weights
        do {
            weights = try Weights(config: config, tensors: ckpt.tensors)
        } catch {
            throw CLIError("\(checkpoint): \(error)")
        }
        let names = try labelNames(count: config.numClasses)
        print(escapedControls("checkpoint   \(checkpoint) (\(config.name), \(source.description))"))

        let input = try ModelInput(config: config)
        let files = ImageFolder.spread(try ImageFolder.files(under: calibration), count: calibrationImages)
        var images: [[UInt8]] = []
        var usable: [String] = []
        for path in files {
            let pixels: [UInt8]
            do {
                pixels = try input.prepare(path: path)
            } catch {
                printWarning("skipping calibration image: \(error)")
                continue
            }
            images.append(pixels)
            usable.append(path)
        }
        guard !images.isEmpty else { throw CLIError("\(calibration): no calibration image could be read") }
        var progress = Progress("calibrating", total: images.count)
        let calibrator = Calibrator(weights: weights, threads: threads)
        let stats = try calibrator.calibrate(images: images) { progress.advance() }
        let skipped = files.count - images.count
        print(escapedControls("calibration  \(images.count) images from \(calibration)" + (skipped > 0 ? " (\(skipped) unreadable, skipped)" : "")))

        let writer = try Quantizer.quantize(weights: weights, stats: stats, labels: names, sourceSHA256: ckpt.sha256)
        try writer.write(path: output)
        let file = try ModelFile.load(path: output)
        let bytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        print(escapedControls("wrote        \(output) (\(file.tensors.count) tensors, \(Format.count(bytes))B)"))

        let entries: [ImageFolder.Entry]
        if let eval {
            entries = try ImageFolder.labelled(under: eval, labels: names)
        } else {
            entries = usable.map { ImageFolder.Entry(path: $0, label: nil) }
        }
        let result = try Evaluator.run(
            weights: weights, modelFile: file, entries: entries, sqnrImages: sqnrImages, threads: threads)
        print(QuantizeReport.render(result, evalSource: eval ?? "the calibration images"), terminator: "")
        print("done in \(Progress.clock(Progress.now() - started))")
    }

    /// One label per line for up to 65536 classes, with room to spare.
    static let labelsByteLimit = 16 << 20

    private func labelNames(count: Int) throws -> [String] {
        guard let labels else { return (0..<count).map { "class\($0)" } }
        let data: [UInt8]
        do throws(FileReadError) {
            data = try System.live.readFile(labels, limit: Self.labelsByteLimit)
        } catch {
            throw CLIError("\(labels): cannot read the labels file: \(error)")
        }
        let names = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map {
            String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }.filter { !$0.isEmpty }
        guard names.count == count else {
            throw CLIError("\(labels): \(names.count) labels, the model has \(count) classes")
        }
        return names
    }
}

enum QuantizeReport {
    static func render(_ e: Evaluation, evalSource: String) -> String {
        var out = ReportWriter()
        out.line(
            "evaluation   \(e.images) images from \(evalSource)"
                + (e.unreadable > 0 ? " (\(e.unreadable) unreadable, skipped)" : ""))
        out.line("  top-1 agreement, float vs int8: \(percent(e.agree, e.images)) (\(e.agree)/\(e.images))")
        if e.labelled > 0 {
            let f = Double(e.floatCorrect) / Double(e.labelled) * 100
            let q = Double(e.int8Correct) / Double(e.labelled) * 100
            out.line(
                "  accuracy on \(e.labelled) labelled images: float \(Format.fixed(f, 2))%, "
                    + "int8 \(Format.fixed(q, 2))% (\(q >= f ? "+" : "")\(Format.fixed(q - f, 2)) points)")
        }
        if !e.tapOrder.isEmpty {
            out.line("  signal-to-quantisation-noise per layer (dB; higher is closer to float):")
            let widths = [44, -7]
            for name in e.tapOrder {
                out.row(["    " + name, e.sqnr(name).map { Format.fixed($0, 1) } ?? "exact"], widths)
            }
        }
        return out.text
    }

    static func percent(_ a: Int, _ b: Int) -> String {
        Format.fixed(b == 0 ? 0 : Double(a) / Double(b) * 100, 2) + "%"
    }
}
