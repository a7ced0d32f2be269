import Glibc
import LavitModel

/// What a forward pass returns: the logits and each stage's `x` after its last block, `(N_m, C_m)`
/// (before the final norm), which golden vectors record.
public struct FloatOutput: Sendable {
    public var logits: Tensor
    public var stages: [Tensor]
}

/// The Float32 forward pass of MODEL.md, written for clarity: the reference the int8 engine is
/// checked against and the source of calibration statistics.
public struct FloatEngine: Sendable {
    public let weights: Weights

    public init(weights: Weights) {
        self.weights = weights
    }

    public func forward(input: Tensor) throws(FloatEngineError) -> FloatOutput {
        try forward(input: input) { _, _ in }
    }

    /// `input` is `(in_chans, H, W)`, already normalised. `observe` sees every `TapPoint` in
    /// forward order; its tensors share storage with the pass, so observing copies nothing.
    public func forward(
        input: Tensor, observe: (TapPoint, Tensor) -> Void
    ) throws(FloatEngineError) -> FloatOutput {
        let config = weights.config
        let expected = [config.inChans, config.imageSize[0], config.imageSize[1]]
        guard input.shape == expected else { throw .inputShape(got: input.shape, expected: expected) }

        var image = Self.tokens(input)
        var (height, width) = (expected[1], expected[2])
        var previous: (geometry: StageGeometry, scores: Matrix)?
        var stageOutputs: [Tensor] = []
        for stage in weights.stages {
            let g = stage.geometry
            func tap(_ site: TapPoint.Site, _ m: Matrix, _ shape: [Int]?) {
                observe(TapPoint(site, stage: g.index), m.tensor(shape ?? [m.rows, m.cols]))
            }
            let embedded = patchConv(image, height: height, width: width, stage.embed)
            tap(.embed, embedded, nil)
            var x = layerNorm(embedded, stage.embedNorm, eps: config.lnEps)
            tap(.embedNorm, x, nil)
            x += Matrix(rows: g.tokens, cols: g.dim, data: stage.posEmbed.data)
            tap(.posAdd, x, nil)

            var residual: Matrix?
            if let ar = stage.attentionResidual, let previous {
                let u = residualDepthwise(previous.scores, previous: previous.geometry, current: g, ar.dw)
                tap(.attentionResidualDW, u, [previous.geometry.heads, g.tokens, g.keys])
                let r = residualPointwise(u, ar)
                tap(.attentionResidual, r, [g.heads, g.tokens, g.keys])
                residual = r
            }
            var scores: Matrix?
            for (i, block) in stage.blocks.enumerated() {
                func observeBlock(_ site: TapPoint.Site, _ m: Matrix, _ shape: [Int]?) {
                    observe(TapPoint(site, stage: g.index, block: i), m.tensor(shape ?? [m.rows, m.cols]))
                }
                (x, scores) = Self.block(
                    x, geometry: g, block, previousScores: scores, residual: i == 0 ? residual : nil,
                    eps: config.lnEps, tap: observeBlock)
            }
            guard let scores else { fatalError("stage \(g.index) has no blocks; Config.validate() lets none through") }
            stageOutputs.append(x.tensor)
            previous = (g, scores)
            image = x
            (height, width) = (g.height, g.width)
        }

        func tapModel(_ site: TapPoint.Site, _ m: Matrix, _ shape: [Int]) { observe(TapPoint(site), m.tensor(shape)) }
        let normed = layerNorm(image, weights.norm, eps: config.lnEps)
        tapModel(.finalNorm, normed, [normed.rows, normed.cols])
        let pooled = meanRows(normed)
        tapModel(.pooled, pooled, [pooled.cols])
        let logits = linear(pooled, weights.head)
        tapModel(.logits, logits, [logits.cols])
        return FloatOutput(logits: logits.tensor([logits.cols]), stages: stageOutputs)
    }

    typealias Tap = (TapPoint.Site, Matrix, [Int]?) -> Void

    /// One pre-norm block; returns `x` and the scores it stores for the next block.
    static func block(
        _ x: Matrix, geometry g: StageGeometry, _ w: BlockWeights, previousScores: Matrix?,
        residual: Matrix?, eps: Double, tap: Tap
    ) -> (Matrix, Matrix) {
        let scoreShape = [g.heads, g.tokens, g.keys]
        let u = layerNorm(x, w.norm1, eps: eps)
        tap(.norm1, u, nil)
        var ur = u
        if let reduction = w.attention.reduction {
            let reduced = patchConv(u, height: g.height, width: g.width, reduction.sr)
            tap(.reduction, reduced, nil)
            ur = layerNorm(reduced, reduction.norm, eps: eps)
            tap(.reductionNorm, ur, nil)
        }

        var a: Matrix
        let v: Matrix
        switch w.attention.mixing {
        case .vanilla(let qWeights, let kvWeights):
            let q = linear(u, qWeights)
            tap(.q, q, nil)
            let kv = linear(ur, kvWeights)
            let k = kv.columns(0, g.dim)
            v = kv.columns(g.dim, g.dim)
            tap(.k, k, nil)
            tap(.v, v, nil)
            // PyTorch multiplies by the Python double d^-0.5, rounded to Float.
            a = attentionScores(q: q, k: k, heads: g.heads, scale: Float(pow(Double(g.headDim), -0.5)))
            tap(.qk, a, scoreShape)
            if let residual {
                a += residual
                tap(.arAdd, a, scoreShape)
            }
        case .less(let vWeights, let theta, let psi):
            guard let previousScores else { fatalError("LA block without stored scores; num_va >= 1 guarantees a VA block first") }
            v = linear(ur, vWeights)
            tap(.v, v, nil)
            let t = linear(previousScores, theta)
            tap(.theta, t, scoreShape)
            a = mixQueries(t, psi: psi, heads: g.heads)
            tap(.psi, a, scoreShape)
        }
        tap(.scores, a, scoreShape)
        let p = softmaxRows(a)
        tap(.probabilities, p, scoreShape)
        let z = attend(p, v, heads: g.heads)
        tap(.pv, z, nil)
        let attention = linear(z, w.attention.proj)
        tap(.attention, attention, nil)
        var out = x
        out += attention
        tap(.add1, out, nil)

        let u2 = layerNorm(out, w.norm2, eps: eps)
        tap(.norm2, u2, nil)
        let hidden = linear(u2, w.fc1)
        tap(.fc1, hidden, nil)
        let activated = gelu(hidden)
        tap(.gelu, activated, nil)
        let mlp = linear(activated, w.fc2)
        tap(.fc2, mlp, nil)
        out += mlp
        tap(.add2, out, nil)
        return (out, a)
    }

    /// `(C, H, W)` channel-major input to `(H * W, C)` tokens.
    static func tokens(_ input: Tensor) -> Matrix {
        let (c, hw) = (input.shape[0], input.shape[1] * input.shape[2])
        var m = Matrix(zeros: hw, c)
        for ch in 0..<c {
            for p in 0..<hw { m.data[p * c + ch] = input.data[ch * hw + p] }
        }
        return m
    }
}
