import LavitModel

/// One layer of each kernel kind: the output tap's `(s, z)`, the kernel's integer parameters.
extension GraphBuilder {
    mutating func gemm(_ layer: String, _ w: LinearWeights, input: ActivationQuant) throws(QuantizeError) -> ActivationQuant {
        try gemm(layer, weight: doubles(w.weight), bias: w.bias.map(doubles), outputs: w.outFeatures, input: input)
    }

    /// A gemm whose output is the tap named `layer`, one scale for all channels.
    mutating func gemm(
        _ layer: String, weight: [Double], bias: [Double]?, outputs: Int, input: ActivationQuant
    ) throws(QuantizeError) -> ActivationQuant {
        let output = try scales.quant(layer)
        let params = try GemmParameters(
            layer: layer, weight: weight, bias: bias, outputs: outputs, input: input,
            outputScale: { _ in output.scale }, zOut: output.zeroPoint)
        tensors.add(layer, params)
        return output
    }

    mutating func layerNorm(_ layer: String, _ w: LayerNormWeights, input: ActivationQuant) throws(QuantizeError) -> ActivationQuant {
        let output = try scales.quant(layer)
        let params = try LayerNormParameters(
            layer: layer, gamma: doubles(w.weight), beta: doubles(w.bias), eps: config.lnEps, input: input, output: output)
        tensors.add(layer, params)
        return output
    }

    /// `y = z_out + RS((a - z_a) M_a + (b - z_b) M_b, n)` with `M_x / 2^n ~= s_x / s_out`.
    mutating func add2(_ layer: String, _ a: ActivationQuant, _ b: ActivationQuant) throws(QuantizeError) -> ActivationQuant {
        let output = try scales.quant(layer)
        let shared = try SharedShift([a.scale / output.scale, b.scale / output.scale], layer: layer)
        tensors.add("\(layer).p", [6], [
            Int64(a.zeroPoint), Int64(b.zeroPoint), Int64(output.zeroPoint), shared.ms[0], shared.ms[1], Int64(shared.shift),
        ])
        return output
    }

    /// qk and pv: one `(M, n)` as `.p`.
    mutating func multiplier(_ layer: String, _ r: Double) throws(QuantizeError) {
        let m = try Multiplier(r, layer: layer)
        tensors.add("\(layer).p", [2], [m.m, Int64(m.shift)])
    }
}
