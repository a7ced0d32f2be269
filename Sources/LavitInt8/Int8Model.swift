import LavitModel
import LavitModelFile

/// A model file checked against QUANT.md and planned for its config: every tensor the graph needs
/// resolved, typed, shape- and range-checked, as pointers into the file (no weight is copied).
///
/// `@unchecked Sendable`: it is immutable after init, and its plan's pointers point into the
/// `ModelFile` it keeps alive, whose storage never changes; several engines on several threads
/// may share one model.
public final class Int8Model: @unchecked Sendable {
    public let modelFile: ModelFile
    public let config: Config
    public let stages: [StageGeometry]
    /// Class names, `num_classes` of them, in logit order.
    public let labels: [String]
    public let preprocess: Int8Preprocess
    /// Real value of one logits unit (reports only; the engine never uses it).
    public let logitScale: Double
    /// Hex SHA-256 of the float checkpoint this model was quantized from.
    public let sourceSHA256: String
    let plan: Plan
    let arena: ArenaLayout

    public init(modelFile: ModelFile) throws(Int8EngineError) {
        let metadata = try Int8Metadata.read(modelFile)
        let stages: [StageGeometry]
        do throws(ConfigError) { stages = try metadata.config.stageGeometry() } catch {
            throw Int8EngineError(source: modelFile.source, reason: .config(error))
        }
        self.modelFile = modelFile
        config = metadata.config
        self.stages = stages
        labels = metadata.labels
        preprocess = metadata.preprocess
        logitScale = metadata.logitScale
        sourceSHA256 = metadata.sourceSHA256
        plan = try Plan(config: metadata.config, geometry: stages, tensors: TensorResolver(file: modelFile))
        arena = ArenaLayout(config: metadata.config, stages: stages)
    }

    /// The revision of `Tools/QUANT.md` this engine implements; it refuses files made for another.
    public static let quantVersion = Int8Metadata.quantVersion

    /// Bytes of the uint8 HWC image `infer` takes: `H * W * in_chans`.
    public var inputByteCount: Int { config.imageSize[0] * config.imageSize[1] * config.inChans }

    /// Bytes of the activation arena each engine for this model allocates.
    public var arenaByteCount: Int { arena.byteCount }

    /// The arena's regions in address order (see `ArenaLayout`), for reports.
    public var arenaRegions: [(name: String, offset: Int, byteCount: Int)] {
        ArenaLayout.Region.allCases.map { r in
            ("\(r)", arena.offset(r), arena.count(r) * ArenaLayout.elementSize(r))
        }
    }

    /// The arena size an engine needs for `config`, without a model file.
    public static func arenaByteCount(for config: Config) throws(ConfigError) -> Int {
        ArenaLayout(config: config, stages: try config.stageGeometry()).byteCount
    }
}
