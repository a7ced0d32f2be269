/// QUANT.md's integer layernorm for one layer: `.g` int32, `.bb` int64, `.p = [z_in, E, shift, z_out]`.
struct LayerNormParameters {
    var g: [Int32]
    var bb: [Int64]
    var p: [Int64]

    static let maxChannels = 4096

    /// The kernel computes `t_i ~= 2^15 * D_i / sqrt(V + E)`, and `sqrt(C) * D_i / sqrt(V + E)` is
    /// the real normalised value when `E = eps * C^3 / s_in^2`; so `gamma * sqrt(C) / (2^15 s_out)`
    /// and `beta / s_out`, both scaled by `2^shift`, give the output in units of `s_out`. The
    /// shift is the largest that keeps `|g| < 2^31` and `|bb| < 2^46`.
    init(
        layer: String, gamma: [Double], beta: [Double], eps: Double, input: ActivationQuant,
        output: ActivationQuant
    ) throws(QuantizeError) {
        let c = gamma.count
        guard c <= Self.maxChannels else {
            throw .layerNormOutOfRange(layer: layer, detail: "\(c) channels exceed the kernel's \(Self.maxChannels)")
        }
        guard gamma.allSatisfy(\.isFinite), beta.allSatisfy(\.isFinite) else { throw .nonFiniteWeight(layer: layer) }
        let cd = Double(c)
        let e = max(1, roundEven(eps * cd * cd * cd / (input.scale * input.scale)))
        guard e < 0x1p62 else {
            throw .layerNormOutOfRange(layer: layer, detail: "epsilon term E = \(e) does not fit int64 (input scale \(input.scale))")
        }
        let gainReal = gamma.map { $0 * cd.squareRoot() / (0x1p15 * output.scale) }
        let biasReal = beta.map { $0 / output.scale }
        let (topGain, topBias) = (gainReal.map { abs($0) }.max() ?? 0, biasReal.map { abs($0) }.max() ?? 0)
        func fits(_ shift: Int) -> Bool {
            let k = pow2(shift)
            return roundEven(topGain * k) < 0x1p31 && roundEven(topBias * k) < 0x1p46
        }
        guard let shift = (1...62).reversed().first(where: fits) else {
            throw .layerNormOutOfRange(layer: layer, detail: "affine too large for output scale \(output.scale)")
        }
        let k = pow2(shift)
        g = gainReal.map { Int32(roundEven($0 * k)) }
        bb = biasReal.map { Int64(roundEven($0 * k)) }
        p = [Int64(input.zeroPoint), Int64(e), Int64(shift), Int64(output.zeroPoint)]
    }
}
