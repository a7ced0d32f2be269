import Glibc
import LavitModel

/// Walks QUANT.md's "Graph" in order, turning each layer into its kernel's integer parameters.
/// Every layer reads its input's `(s, z)` from the tap that produced it, tracked in `x` (the
/// token stream) and the stored scores `S`.
struct GraphBuilder {
    let config: Config
    var scales: ScaleTable
    var tensors = TensorList()
    var logitScale = 1.0

    /// Every stem input code is `u - 128` for pixel `u`: scale 1, zero point -128.
    static let stemInput = ActivationQuant(scale: 1, zeroPoint: -128)
    /// The largest observed |logit| lands near this many logit units.
    static let logitUnits = 0x1p20
    /// Softmax probabilities are int16 codes `p / 2^15` (QUANT.md kernel 6).
    static let probabilityScale = 0x1p-15

    mutating func build(_ weights: Weights) throws(QuantizeError) {
        var x = Self.stemInput
        var previousScores: ActivationQuant?
        for stage in weights.stages {
            let g = stage.geometry
            let prefix = "stages.\(g.index)"
            let (w, b) = g.index == 0 ? stemFold(stage.embed) : (doubles(stage.embed.weight), doubles(stage.embed.bias))
            let embedded = try gemm("\(prefix).embed.proj", weight: w, bias: b, outputs: g.dim, input: x)
            let normed = try layerNorm("\(prefix).embed.norm", stage.embedNorm, input: embedded)
            let pos = try positionEmbedding(prefix, stage.posEmbed, tokens: g.tokens, dim: g.dim)
            x = try add2("\(prefix).pos_add", normed, pos)

            var residual: ActivationQuant?
            if let ar = stage.attentionResidual, let previousScores {
                residual = try attentionResidual(prefix, ar, input: previousScores)
            }
            var stored: ActivationQuant?
            for (i, block) in stage.blocks.enumerated() {
                (x, stored) = try self.block(
                    "\(prefix).blocks.\(i)", block, geometry: g, x: x, previousScores: stored,
                    residual: i == 0 ? residual : nil)
            }
            previousScores = stored
        }
        try head(weights, x: x, tokens: weights.stages[weights.stages.count - 1].geometry.tokens)
    }

    /// One pre-norm block; returns the block output's and the stored scores' quantization.
    mutating func block(
        _ name: String, _ w: BlockWeights, geometry g: StageGeometry, x: ActivationQuant,
        previousScores: ActivationQuant?, residual: ActivationQuant?
    ) throws(QuantizeError) -> (ActivationQuant, ActivationQuant) {
        let u = try layerNorm("\(name).norm1", w.norm1, input: x)
        var ur = u
        if let reduction = w.attention.reduction {
            let reduced = try gemm("\(name).attn.sr", reduction.sr.matrix, input: u)
            ur = try layerNorm("\(name).attn.norm", reduction.norm, input: reduced)
        }

        var scores: ActivationQuant
        let v: ActivationQuant
        switch w.attention.mixing {
        case .vanilla(let qWeights, let kvWeights):
            let q = try gemm("\(name).attn.q", qWeights, input: u)
            let k = try scales.quant("\(name).attn.k")
            v = try scales.quant("\(name).attn.v")
            let kv = try GemmParameters(
                layer: "\(name).attn.kv", weight: doubles(kvWeights.weight), bias: kvWeights.bias.map(doubles),
                outputs: 2 * g.dim, input: ur, outputScale: { $0 < g.dim ? k.scale : v.scale }, zOut: 0)
            tensors.add("\(name).attn.kv", kv)
            scores = try scales.quant("\(name).attn.qk")
            let r = q.scale * k.scale * pow(Double(g.headDim), -0.5) / scores.scale
            try multiplier("\(name).attn.qk", r)
            if let residual {
                scores = try add2("\(name).attn.ar_add", scores, residual)
            }
        case .less(let vWeights, let theta, let psi):
            guard let previousScores else {
                fatalError("\(name): LA block without stored scores; num_va >= 1 guarantees a VA block first")
            }
            v = try gemm("\(name).attn.v", vWeights, input: ur)
            let t = try gemm("\(name).attn.theta", theta, input: previousScores)
            scores = try gemm("\(name).attn.psi", psi, input: t)
        }
        tensors.add("\(name).attn.softmax.exp", [256], Tables.exp(scoreScale: scores.scale))
        scales.record("\(name).attn.softmax", ActivationQuant(scale: Self.probabilityScale, zeroPoint: 0))
        let pv = try scales.quant("\(name).attn.pv")
        try multiplier("\(name).attn.pv", v.scale * Self.probabilityScale / pv.scale)
        let attention = try gemm("\(name).attn.proj", w.attention.proj, input: pv)
        let add1 = try add2("\(name).add1", x, attention)

        let u2 = try layerNorm("\(name).norm2", w.norm2, input: add1)
        let hidden = try gemm("\(name).mlp.fc1", w.fc1, input: u2)
        let activated = try scales.quant("\(name).mlp.gelu")
        tensors.add("\(name).mlp.gelu.t", [256], Tables.gelu(input: hidden, output: activated))
        let mlp = try gemm("\(name).mlp.fc2", w.fc2, input: activated)
        return (try add2("\(name).add2", add1, mlp), scores)
    }

    /// dwconv2 over the previous stage's stored scores, then the 1x1 conv with gamma folded in.
    mutating func attentionResidual(
        _ prefix: String, _ ar: AttentionResidualWeights, input: ActivationQuant
    ) throws(QuantizeError) -> ActivationQuant {
        let u = try gemm("\(prefix).attn_residual.dw", weight: doubles(ar.dw.weight), bias: doubles(ar.dw.bias),
                         outputs: ar.dw.outChannels, input: input)
        let (heads, previousHeads) = (ar.pw.outChannels, ar.dw.outChannels)
        let gamma = doubles(ar.gamma)
        let pw = doubles(ar.pw.weight).enumerated().map { $1 * gamma[$0 / previousHeads] }
        let bias = doubles(ar.pw.bias).enumerated().map { $1 * gamma[$0] }
        return try gemm("\(prefix).attn_residual.pw", weight: pw, bias: bias, outputs: heads, input: u)
    }

    /// Final norm, mean pool with `1/N` folded in, and the gemm32 head on a common logit scale.
    mutating func head(_ weights: Weights, x: ActivationQuant, tokens: Int) throws(QuantizeError) {
        let normed = try layerNorm("norm", weights.norm, input: x)
        let pooled = try scales.quant("pool")
        let pool = try Multiplier(normed.scale / (Double(tokens) * pooled.scale), layer: "pool")
        tensors.add("pool.p", [4], [Int64(normed.zeroPoint), pool.m, Int64(pool.shift), Int64(pooled.zeroPoint)])
        guard let logits = scales.stats["head"] else { throw .missingStatistics(tap: "head") }
        guard logits.finite else { throw .nonFiniteActivation(tap: "head") }
        let top = Double(logits.maxAbs)
        logitScale = top > 0 ? top / Self.logitUnits : 1 / Self.logitUnits
        let scale = logitScale
        scales.record("head", ActivationQuant(scale: scale, zeroPoint: 0))
        let head = try GemmParameters(
            layer: "head", weight: doubles(weights.head.weight), bias: weights.head.bias.map(doubles),
            outputs: weights.head.outFeatures, input: pooled, outputScale: { _ in scale }, zOut: nil)
        tensors.add("head", head)
    }

    /// The stem conv with the input normalisation folded in: with `a_c = 1 / (255 std_c)` and
    /// `b_c = -mean_c / std_c`, `W' = W a_c` and `bias' = bias + sum W b_c`, so it reads pixels.
    func stemFold(_ conv: ConvWeights) -> ([Double], [Double]) {
        let perChannel = conv.weight.count / conv.outChannels / config.inChans
        var weight = doubles(conv.weight)
        var bias = doubles(conv.bias)
        for i in weight.indices {
            let c = i / perChannel % config.inChans
            let (mean, std) = (config.inputMean[c], config.inputStd[c])
            bias[i / (perChannel * config.inChans)] += weight[i] * (-mean / std)
            weight[i] *= 1 / (255 * std)
        }
        return (weight, bias)
    }

    /// `pos_embed` as int8 with its own `(s, z)` over its exact range (weights have no outliers
    /// to clip), stored as `stages.m.pos_embed.q`.
    mutating func positionEmbedding(
        _ prefix: String, _ pos: Tensor, tokens: Int, dim: Int
    ) throws(QuantizeError) -> ActivationQuant {
        guard pos.data.allSatisfy(\.isFinite) else { throw .nonFiniteWeight(layer: "\(prefix).pos_embed") }
        let (lo, hi) = (Double(pos.data.min() ?? 0), Double(pos.data.max() ?? 0))
        let quant = hi > 0 || lo < 0 ? ActivationQuant.asymmetric(lo: lo, hi: hi) : .asymmetric(lo: 0, hi: 1)
        tensors.add("\(prefix).pos_embed.q", [tokens, dim], pos.data.map { quant.quantize(Double($0)) })
        scales.record("\(prefix).pos_embed", quant)
        return quant
    }
}
