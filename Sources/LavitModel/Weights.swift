/// A config's tensors, checked against its `ParameterSchema` and grouped per layer so the engines
/// never look tensors up by name. Shapes are PyTorch's; conv weights `(out, in, k, k)` are
/// contiguous, so they double as `(out, in * k * k)` matrices.
public struct Weights: Sendable {
    public let config: Config
    public let stages: [StageWeights]
    public let norm: LayerNormWeights
    public let head: LinearWeights
    /// Every tensor by state-dict name, for consumers that walk the schema (the same storage).
    public let tensors: [String: Tensor]

    public init(config: Config, tensors: [String: Tensor]) throws(WeightsError) {
        let schema: ParameterSchema
        let geometry: [StageGeometry]
        do {
            schema = try ParameterSchema(config: config)
            geometry = try config.stageGeometry()
        } catch {
            throw .invalidConfig(name: config.name, error)
        }
        var missing: [String] = []
        var misShaped: [WeightsError.ShapeMismatch] = []
        for entry in schema.entries {
            guard let tensor = tensors[entry.name] else {
                missing.append(entry.name)
                continue
            }
            if tensor.shape != entry.shape {
                misShaped.append(.init(name: entry.name, shape: tensor.shape, expected: entry.shape))
            }
        }
        let known = Set(schema.entries.map(\.name))
        let unexpected = tensors.keys.filter { !known.contains($0) }.sorted()
        guard missing.isEmpty, unexpected.isEmpty, misShaped.isEmpty else {
            throw .mismatch(config: config.name, missing: missing, unexpected: unexpected, misShaped: misShaped)
        }

        let bind = Binder(tensors: tensors)
        self.config = config
        self.tensors = tensors
        self.stages = geometry.map { bind.stage($0) }
        self.norm = bind.layerNorm("norm")
        self.head = bind.linear("head")
    }
}

public struct StageWeights: Sendable {
    public let geometry: StageGeometry
    public let embed: ConvWeights
    public let embedNorm: LayerNormWeights
    /// `(1, N, C)`, added to the normalised embedding.
    public let posEmbed: Tensor
    /// Present for stages m >= 1 of a config with `attention_residual`.
    public let attentionResidual: AttentionResidualWeights?
    public let blocks: [BlockWeights]
}

public struct AttentionResidualWeights: Sendable {
    /// Depth-wise `(h_{m-1}, 1, 2, 2)`.
    public let dw: ConvWeights
    /// `(h_m, h_{m-1}, 1, 1)`.
    public let pw: ConvWeights
    public let gamma: Tensor
}

public struct BlockWeights: Sendable {
    public let norm1: LayerNormWeights
    public let attention: AttentionWeights
    public let norm2: LayerNormWeights
    public let fc1: LinearWeights
    public let fc2: LinearWeights
}

public struct AttentionWeights: Sendable {
    public enum Mixing: Sendable {
        /// A VA layer: `kv` is `(2C, C)`, keys in its first C rows.
        case vanilla(q: LinearWeights, kv: LinearWeights)
        /// An LA layer: Theta `(Nk, Nk)` on the key axis, Psi `(N, N)` without bias on the query axis.
        case less(v: LinearWeights, theta: LinearWeights, psi: LinearWeights)
    }

    /// The spatial-reduction conv and its norm, present when `r_m > 1`.
    public struct Reduction: Sendable {
        public let sr: ConvWeights
        public let norm: LayerNormWeights
    }

    public let mixing: Mixing
    public let reduction: Reduction?
    public let proj: LinearWeights
}

/// `weight (out, in)`, optional `bias (out)`.
public struct LinearWeights: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }
}

/// `weight (out, in / groups, k, k)`, `bias (out)`.
public struct ConvWeights: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }
    /// The weight as the `(out, in * k * k)` matrix an im2col product uses.
    public var matrix: LinearWeights {
        LinearWeights(weight: Tensor(shape: [outChannels, weight.count / outChannels], data: weight.data), bias: bias)
    }
}

public struct LayerNormWeights: Sendable {
    public let weight: Tensor
    public let bias: Tensor
}

/// Groups already-checked tensors; a name it cannot find means the schema and this file disagree.
private struct Binder {
    let tensors: [String: Tensor]

    func tensor(_ name: String) -> Tensor {
        guard let t = tensors[name] else { fatalError("Weights: schema has no tensor \(name)") }
        return t
    }

    func linear(_ prefix: String, bias: Bool = true) -> LinearWeights {
        LinearWeights(weight: tensor("\(prefix).weight"), bias: bias ? tensor("\(prefix).bias") : nil)
    }

    func conv(_ prefix: String) -> ConvWeights {
        ConvWeights(weight: tensor("\(prefix).weight"), bias: tensor("\(prefix).bias"))
    }

    func layerNorm(_ prefix: String) -> LayerNormWeights {
        LayerNormWeights(weight: tensor("\(prefix).weight"), bias: tensor("\(prefix).bias"))
    }

    func stage(_ g: StageGeometry) -> StageWeights {
        let stage = ParameterName.stage(g.index)
        let residual = g.hasAttentionResidual
            ? AttentionResidualWeights(
                dw: conv("\(stage).attn_residual.dw"), pw: conv("\(stage).attn_residual.pw"),
                gamma: tensor("\(stage).attn_residual.gamma"))
            : nil
        return StageWeights(
            geometry: g, embed: conv("\(stage).embed.proj"), embedNorm: layerNorm("\(stage).embed.norm"),
            posEmbed: tensor("\(stage).pos_embed"), attentionResidual: residual,
            blocks: (0..<g.depth).map { block(g, $0) })
    }

    func block(_ g: StageGeometry, _ i: Int) -> BlockWeights {
        let block = ParameterName.block(g.index, i)
        let mixing: AttentionWeights.Mixing = g.isVA(block: i)
            ? .vanilla(q: linear("\(block).attn.q"), kv: linear("\(block).attn.kv"))
            : .less(
                v: linear("\(block).attn.v"), theta: linear("\(block).attn.theta"),
                psi: linear("\(block).attn.psi", bias: false))
        let reduction = g.srRatio > 1
            ? AttentionWeights.Reduction(sr: conv("\(block).attn.sr"), norm: layerNorm("\(block).attn.norm"))
            : nil
        return BlockWeights(
            norm1: layerNorm("\(block).norm1"),
            attention: AttentionWeights(mixing: mixing, reduction: reduction, proj: linear("\(block).attn.proj")),
            norm2: layerNorm("\(block).norm2"), fc1: linear("\(block).mlp.fc1"), fc2: linear("\(block).mlp.fc2"))
    }
}
