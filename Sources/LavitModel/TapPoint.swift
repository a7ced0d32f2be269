/// A named intermediate of the forward pass, handed to an observer by the float engine (for
/// calibration) and by the int8 engine (for reports). Names are the layer names of
/// `Tools/QUANT.md` "Graph" (state-dict prefixes), e.g. `stages.2.blocks.1.attn.qk`, so the two
/// engines' tensors, the calibration statistics and the model file's tensors line up by name.
public struct TapPoint: Hashable, Sendable, CustomStringConvertible {
    /// What is observed, in the order a forward pass reaches it. Shapes: tokens `(N, C)` (keys
    /// `(Nk, C)`), score-like maps `(h, N, Nk)`.
    public enum Site: String, Sendable, CaseIterable {
        /// Stage embedding conv output, before its norm.
        case embed = "embed.proj"
        case embedNorm = "embed.norm"
        /// Stage input: the normalised embedding plus `pos_embed`.
        case posAdd = "pos_add"
        /// AR depth-wise conv output `(h_{m-1}, N, Nk)`.
        case attentionResidualDW = "attn_residual.dw"
        /// AR output `(h, N, Nk)` (1x1 conv times gamma), added to the first block's scores.
        case attentionResidual = "attn_residual.pw"

        case norm1 = "norm1"
        /// Spatial-reduction conv output `(Nk, C)` and its norm (only when `r > 1`).
        case reduction = "attn.sr"
        case reductionNorm = "attn.norm"
        case q = "attn.q"
        /// The two halves of a VA layer's kv projection, `(Nk, C)` each.
        case k = "attn.k"
        case v = "attn.v"
        /// VA only: `(q k^T) * d^-0.5`, before the attention residual is added.
        case qk = "attn.qk"
        /// VA with AR only: `qk` plus the attention residual.
        case arAdd = "attn.ar_add"
        /// LA only: Theta applied to the previous scores, then Psi.
        case theta = "attn.theta"
        case psi = "attn.psi"
        /// The stored pre-softmax scores S of every block, the softmax input: the same values as
        /// the last of `qk`, `ar_add` or `psi`, under one name.
        case scores = "attn.scores"
        case probabilities = "attn.softmax"
        /// `P v` with heads merged, the proj input `(N, C)`.
        case pv = "attn.pv"
        case attention = "attn.proj"
        /// `x` after the attention's residual add.
        case add1 = "add1"
        case norm2 = "norm2"
        case fc1 = "mlp.fc1"
        case gelu = "mlp.gelu"
        case fc2 = "mlp.fc2"
        /// Block output: `x` after the MLP's residual add.
        case add2 = "add2"

        /// Final norm `(N, C)`, mean-pooled features `(C)`, logits `(num_classes)`.
        case finalNorm = "norm"
        case pooled = "pool"
        case logits = "head"
    }

    public var site: Site
    /// Nil for the model-level sites after the last stage.
    public var stage: Int?
    /// Nil for stage-level and model-level sites.
    public var block: Int?

    public init(_ site: Site, stage: Int? = nil, block: Int? = nil) {
        self.site = site
        self.stage = stage
        self.block = block
    }

    public var description: String {
        switch (stage, block) {
        case (let m?, let i?): "stages.\(m).blocks.\(i).\(site.rawValue)"
        case (let m?, nil): "stages.\(m).\(site.rawValue)"
        default: site.rawValue
        }
    }
}
