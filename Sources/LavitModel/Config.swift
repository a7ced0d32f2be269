import FoundationEssentials

/// A LaViT architecture, as `Tools/MODEL.md` defines it. The JSON form (snake_case keys) is the one
/// stored in checkpoints and accepted from config files.
public struct Config: Sendable, Equatable, Codable {
    public var name: String
    public var imageSize: [Int]
    public var inChans: Int
    public var numClasses: Int
    public var patchSize: Int
    public var embedDims: [Int]
    public var depths: [Int]
    public var numHeads: [Int]
    public var numVA: [Int]
    public var srRatios: [Int]
    public var mlpRatios: [Int]
    public var attentionResidual: Bool
    public var lnEps: Double
    public var inputMean: [Double]
    public var inputStd: [Double]

    public init(
        name: String = "custom", imageSize: [Int], inChans: Int = 3, numClasses: Int, patchSize: Int,
        embedDims: [Int], depths: [Int], numHeads: [Int], numVA: [Int], srRatios: [Int],
        mlpRatios: [Int], attentionResidual: Bool = true, lnEps: Double = 1e-6,
        inputMean: [Double] = Config.imageNetMean, inputStd: [Double] = Config.imageNetStd
    ) {
        self.name = name
        self.imageSize = imageSize
        self.inChans = inChans
        self.numClasses = numClasses
        self.patchSize = patchSize
        self.embedDims = embedDims
        self.depths = depths
        self.numHeads = numHeads
        self.numVA = numVA
        self.srRatios = srRatios
        self.mlpRatios = mlpRatios
        self.attentionResidual = attentionResidual
        self.lnEps = lnEps
        self.inputMean = inputMean
        self.inputStd = inputStd
    }

    public static let imageNetMean: [Double] = [0.485, 0.456, 0.406]
    public static let imageNetStd: [Double] = [0.229, 0.224, 0.225]

    public var stageCount: Int { embedDims.count }

    enum CodingKeys: String, CodingKey {
        case name
        case imageSize = "image_size"
        case inChans = "in_chans"
        case numClasses = "num_classes"
        case patchSize = "patch_size"
        case embedDims = "embed_dims"
        case depths
        case numHeads = "num_heads"
        case numVA = "num_va"
        case srRatios = "sr_ratios"
        case mlpRatios = "mlp_ratios"
        case attentionResidual = "attention_residual"
        case lnEps = "ln_eps"
        case inputMean = "input_mean"
        case inputStd = "input_std"
    }

    /// Unknown keys are refused, as the Python reference does: a misspelt `mlp_ratio` must not
    /// silently fall back to a default.
    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.first(where: { CodingKeys(rawValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all, debugDescription: "unknown config key '\(unknown.stringValue)'")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "custom"
        imageSize = try c.decode([Int].self, forKey: .imageSize)
        inChans = try c.decodeIfPresent(Int.self, forKey: .inChans) ?? 3
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        patchSize = try c.decode(Int.self, forKey: .patchSize)
        embedDims = try c.decode([Int].self, forKey: .embedDims)
        depths = try c.decode([Int].self, forKey: .depths)
        numHeads = try c.decode([Int].self, forKey: .numHeads)
        numVA = try c.decode([Int].self, forKey: .numVA)
        srRatios = try c.decode([Int].self, forKey: .srRatios)
        mlpRatios = try c.decode([Int].self, forKey: .mlpRatios)
        attentionResidual = try c.decodeIfPresent(Bool.self, forKey: .attentionResidual) ?? true
        lnEps = try c.decodeIfPresent(Double.self, forKey: .lnEps) ?? 1e-6
        inputMean = try c.decodeIfPresent([Double].self, forKey: .inputMean) ?? Config.imageNetMean
        inputStd = try c.decodeIfPresent([Double].self, forKey: .inputStd) ?? Config.imageNetStd
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
