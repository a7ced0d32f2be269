/// Each tap's `(s, z)`, chosen by `RangeSearch` once and remembered, so a tap read as one layer's
/// output and another's input can never get two different scales.
struct ScaleTable {
    let stats: CalibrationStatistics
    private(set) var chosen: [String: ActivationQuant] = [:]

    init(stats: CalibrationStatistics) {
        self.stats = stats
    }

    /// QUANT.md "Numbers": q, k, v, every score map (qk, the AR output and its sum with qk, Psi's
    /// output) and P V are symmetric; everything else is asymmetric.
    static let symmetricSuffixes = [
        ".attn.q", ".attn.k", ".attn.v", ".attn.qk", ".attn.ar_add", ".attn_residual.pw", ".attn.psi", ".attn.pv",
    ]

    static func isSymmetric(_ tap: String) -> Bool {
        symmetricSuffixes.contains { tap.hasSuffix($0) }
    }

    mutating func quant(_ tap: String) throws(QuantizeError) -> ActivationQuant {
        if let known = chosen[tap] { return known }
        guard let s = stats[tap] else { throw .missingStatistics(tap: tap) }
        guard s.finite else { throw .nonFiniteActivation(tap: tap) }
        let q = Self.isSymmetric(tap) ? RangeSearch.symmetric(s) : RangeSearch.asymmetric(s)
        chosen[tap] = q
        return q
    }

    /// Records a scale chosen elsewhere (the position embeddings, fixed-scale probabilities).
    mutating func record(_ name: String, _ q: ActivationQuant) {
        chosen[name] = q
    }
}
