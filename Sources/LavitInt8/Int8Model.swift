#if canImport(Glibc)
import Glibc
#endif
import LavitKernels
import LavitModel
import LavitModelFile

/// A model file checked against QUANT.md and planned for its config: every tensor the graph needs
/// resolved, typed, shape- and range-checked, as pointers into the file, and the GEMM weights laid
/// out once for the SIMD variant the model runs (the scalar reference copies nothing).
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
    /// The kernels every engine of this model runs; its weights are laid out for them.
    public let kernels: Kernels
    let plan: Plan
    let arena: ArenaLayout
    /// The prepared weights of every GEMM, one aligned block (nil for the scalar reference).
    private let prepared: UnsafeMutableRawPointer?
    /// Bytes of `prepared`.
    public let preparedByteCount: Int

    /// `kernels`: `.best` picks the fastest variant this CPU runs; a variant it cannot run is refused.
    public init(modelFile: ModelFile, kernels: Kernels = .best) throws(Int8EngineError) {
        guard kernels.isSupported else {
            throw Int8EngineError(
                source: modelFile.source, reason: .kernels(name: kernels.rawValue, reason: kernels.unsupportedReason ?? ""))
        }
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
        var plan = try Plan(config: metadata.config, geometry: stages, tensors: TensorResolver(file: modelFile))
        var bytes = 0
        plan.forEachGemm { p, _ in bytes += Self.aligned(kernels.preparedByteCount(p)) }
        var storage: UnsafeMutableRawPointer?
        if bytes > 0 {
            guard posix_memalign(&storage, Kernels.alignment, bytes) == 0, let storage else {
                throw Int8EngineError(source: modelFile.source, reason: .outOfMemory(byteCount: bytes))
            }
            var offset = 0
            plan.forEachGemm { p, patch in
                kernels.prepare(&p, storage: storage + offset, patch: patch)
                offset += Self.aligned(kernels.preparedByteCount(p))
            }
        }
        self.kernels = kernels
        self.plan = plan
        prepared = storage
        preparedByteCount = bytes
        arena = ArenaLayout(config: metadata.config, stages: stages, kernels: kernels)
    }

    deinit { free(prepared) }

    private static func aligned(_ n: Int) -> Int { (n + Kernels.alignment - 1) / Kernels.alignment * Kernels.alignment }

    /// The revision of `Tools/QUANT.md` this engine implements; it refuses files made for another.
    public static let quantVersion = Int8Metadata.quantVersion

    /// Bytes of the uint8 HWC image `infer` takes: `H * W * in_chans`.
    public var inputByteCount: Int { config.imageSize[0] * config.imageSize[1] * config.inChans }

    /// Bytes of the activation arena a one-thread engine for this model allocates.
    public var arenaByteCount: Int { arena.byteCount }

    /// The arena of an engine running `threads` threads.
    func arena(threads: Int) -> ArenaLayout {
        threads == 1 ? arena : ArenaLayout(config: config, stages: stages, kernels: kernels, threads: threads)
    }

    /// The arena's regions in address order (see `ArenaLayout`), for reports.
    public var arenaRegions: [(name: String, offset: Int, byteCount: Int)] {
        ArenaLayout.Region.allCases.map { r in
            ("\(r)", arena.offset(r), arena.count(r) * ArenaLayout.elementSize(r))
        }
    }

    /// The arena size an engine needs for `config`, without a model file.
    public static func arenaByteCount(for config: Config, kernels: Kernels = .best) throws(ConfigError) -> Int {
        ArenaLayout(config: config, stages: try config.stageGeometry(), kernels: kernels).byteCount
    }
}
