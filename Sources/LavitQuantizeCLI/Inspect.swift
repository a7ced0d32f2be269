import ArgumentParser
import LavitCheckpoint
import LavitModel

/// `lavit-quantize inspect`: what a checkpoint holds and what its architecture costs, so a user can
/// check a config against the paper before spending time on calibration.
public struct Inspect: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Print a checkpoint's or int8 model's config, params and MACs, and its tensors.",
        discussion: """
            The config comes from --variant or --config when given, else from the checkpoint's \
            metadata. With no checkpoint, prints the cost of the config alone.
            """)

    @Argument(help: "A float checkpoint (.pth, .pt or .safetensors) or an int8 model file.")
    var checkpoint: String?

    @Option(help: "A named architecture: \(Config.variantNames.joined(separator: ", ")).")
    var variant: String?

    @Option(name: .customLong("config"), help: "A JSON config file (keys as in Tools/MODEL.md).")
    var configFile: String?

    @Flag(help: "Also list every tensor in the checkpoint.")
    var tensors = false

    public init() {}

    public func validate() throws {
        if variant != nil && configFile != nil {
            throw ValidationError("give --variant or --config, not both")
        }
        if checkpoint == nil && variant == nil && configFile == nil {
            throw ValidationError("give a checkpoint, --variant or --config")
        }
        if let variant, Config.variant(named: variant) == nil {
            throw ValidationError("unknown variant '\(variant)' (known: \(Config.variantNames.joined(separator: ", ")))")
        }
    }

    public func run() throws {
        do {
            print(try report(), terminator: "")
        } catch let error as InspectError {
            print(error.report, terminator: "")
            throw error
        }
    }

    /// The whole report as text; throws a one-line error when the checkpoint or config is bad or the
    /// weights do not fit the config (after the report has named what it could).
    public func report() throws -> String {
        if let checkpoint, ModelFileReport.isModelFile(checkpoint) {
            return try ModelFileReport.render(path: checkpoint, listTensors: tensors)
        }
        var out = ReportWriter()
        var loaded: Checkpoint?
        if let checkpoint {
            let ckpt = try Checkpoint.load(path: checkpoint)
            out.line("checkpoint  \(checkpoint) (\(ckpt.format.displayName), sha256 \(ckpt.sha256.prefix(16))...)")
            loaded = ckpt
        }
        let (config, source) = try ConfigResolver.resolve(
            variant: variant, configFile: configFile, metadata: loaded?.config, metadataError: loaded?.configError)
        try ConfigResolver.validate(config, source, checkpoint: checkpoint)
        out.line("config      \(config.name) (\(source.description))")
        ConfigTable.write(config, to: &out)
        let cost = try Cost(config: config)
        CostTable.write(cost, config: config, to: &out)

        if let ckpt = loaded {
            if tensors {
                TensorTable.write(ckpt, to: &out)
            }
            do {
                _ = try Weights(config: config, tensors: ckpt.tensors)
                out.line("weights     all \(ckpt.tensors.count) tensors match the config")
            } catch {
                throw InspectError(report: out.text, description: "\(checkpoint ?? "checkpoint"): \(error)")
            }
        }
        return out.text
    }
}

/// A weights mismatch found after the report was written: the report still goes to stdout, the
/// error line to stderr.
struct InspectError: Error, CustomStringConvertible {
    let report: String
    let description: String
}

extension CheckpointFormat {
    var displayName: String {
        switch self {
        case .safetensors: "safetensors"
        case .torchZip: "torch zip"
        }
    }
}
