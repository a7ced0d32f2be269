/// A single multiplier and shift `[M, n]`, the `.p` of qk and pv.
public struct Requantization: Sendable, Equatable {
    public var multiplier: Int64
    public var shift: Int64

    public init(multiplier: Int64, shift: Int64) {
        self.multiplier = multiplier
        self.shift = shift
    }
}

/// The shape of one multi-head attention: `heads` heads of `headDim` channels (`C = heads *
/// headDim`) over `tokens` queries and `keys` keys. Score maps are `(heads, tokens, keys)`.
public struct AttentionShape: Sendable, Equatable {
    public var heads: Int
    public var headDim: Int
    public var tokens: Int
    public var keys: Int

    public init(heads: Int, headDim: Int, tokens: Int, keys: Int) {
        self.heads = heads
        self.headDim = headDim
        self.tokens = tokens
        self.keys = keys
    }

    public var scoreCount: Int { heads * tokens * keys }
}
