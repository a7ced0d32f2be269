/// A named intermediate of an int8 forward pass, handed to an observer. Names are the layer names
/// of QUANT.md "Graph" (and of the float engine's taps), e.g. `stages.0.blocks.1.attn.softmax`, so a
/// report can line the int8 tensors up with the float ones and with the metadata's `scales`.
public struct Int8TapID: Hashable, Sendable, CustomStringConvertible {
    /// In the order a forward pass reaches them. Token tensors are `(rows, C)`, score-like maps
    /// `(h, N, Nk)`.
    public enum Site: String, Sendable, CaseIterable {
        case embed = "embed.proj"
        case embedNorm = "embed.norm"
        case posAdd = "pos_add"
        /// AR depth-wise conv output `(h_{m-1}, N_m, Nk)`.
        case attentionResidualDW = "attn_residual.dw"
        /// AR output `(h_m, N_m, Nk)`.
        case attentionResidual = "attn_residual.pw"
        case norm1 = "norm1"
        case reduction = "attn.sr"
        case reductionNorm = "attn.norm"
        case q = "attn.q"
        /// The halves of VA's kv projection, `(Nk, C)` each; LA's v projection is `v` too.
        case k = "attn.k"
        case v = "attn.v"
        case qk = "attn.qk"
        case arAdd = "attn.ar_add"
        /// Theta's output `(h, N, Nk)`, and Psi's transposed back to `(h, N, Nk)`.
        case theta = "attn.theta"
        case psi = "attn.psi"
        /// The stored scores S (the softmax input), whichever layer produced them.
        case scores = "attn.scores"
        /// The probabilities P, uint8 `(h, N, Nk)`.
        case probabilities = "attn.softmax"
        case pv = "attn.pv"
        case attention = "attn.proj"
        case add1 = "add1"
        case norm2 = "norm2"
        case fc1 = "mlp.fc1"
        case gelu = "mlp.gelu"
        case fc2 = "mlp.fc2"
        /// The block output.
        case add2 = "add2"
        case finalNorm = "norm"
        case pooled = "pool"
        /// The int32 logits.
        case logits = "head"
    }

    public var site: Site
    public var stage: Int?
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

/// A tap's shape, of rank 1 to 3, stored inline so that describing a tap allocates nothing.
public struct Int8TapShape: Hashable, Sendable, CustomStringConvertible {
    public let rank: Int
    private let d0: Int
    private let d1: Int
    private let d2: Int

    public init(_ d0: Int) { (rank, self.d0, d1, d2) = (1, d0, 1, 1) }
    public init(_ d0: Int, _ d1: Int) { (rank, self.d0, self.d1, d2) = (2, d0, d1, 1) }
    public init(_ d0: Int, _ d1: Int, _ d2: Int) { (rank, self.d0, self.d1, self.d2) = (3, d0, d1, d2) }

    public var dims: [Int] { Array([d0, d1, d2].prefix(rank)) }
    public var elementCount: Int { d0 * d1 * d2 }
    public var description: String { "\(dims)" }
}

/// A tap's values, viewing engine memory: valid only during the observer call.
public enum Int8TapValues {
    case int8(UnsafeBufferPointer<Int8>)
    case uint8(UnsafeBufferPointer<UInt8>)
    case int32(UnsafeBufferPointer<Int32>)
}

public struct Int8Tap {
    public let id: Int8TapID
    public let shape: Int8TapShape
    public let values: Int8TapValues

    public init(id: Int8TapID, shape: Int8TapShape, values: Int8TapValues) {
        self.id = id
        self.shape = shape
        self.values = values
    }

    /// The values widened to Int, for tests and reports (allocates).
    public var integers: [Int] {
        switch values {
        case .int8(let b): b.map(Int.init)
        case .uint8(let b): b.map(Int.init)
        case .int32(let b): b.map(Int.init)
        }
    }
}
