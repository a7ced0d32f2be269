/// QUANT.md's gemm (and gemm32, dwconv2: the same arithmetic) for one layer:
/// `acc = sum_k w[o,k] * x[n,k] + b[o]`, `y = z_out + RS(acc * m[o], s[o])`.
struct GemmParameters {
    var w: [Int8]
    var b: [Int32]
    var m: [Int32]
    var s: [Int32]
    var outputs: Int
    var inputs: Int
    /// Nil for gemm32 (the head), whose int32 output has no zero point.
    var zOut: Int?

    /// `weight` is `(outputs, inputs)` row-major float, `bias` the float bias (nil: none);
    /// `outputScale(o)` is the real value of one output unit of channel `o`.
    ///
    /// Weights are `PerChannelWeights`. The bias is stored in the accumulator's scale
    /// `s_in * s_w` and fused with `-z_in * rowsum(w_q[o])`, so the kernel runs on raw int8 codes.
    /// A row of (all but) zero weights gets the floor `s_w = 2^-20 s_out / s_in`, which keeps its
    /// bias exact and its multiplier in range (see `PerChannelWeights`).
    init(
        layer: String, weight: [Double], bias: [Double]?, outputs: Int, input: ActivationQuant,
        outputScale: (Int) -> Double, zOut: Int?
    ) throws(QuantizeError) {
        precondition(weight.count % outputs == 0 && (bias?.count ?? outputs) == outputs, "\(layer): weight shape")
        let k = weight.count / outputs
        guard weight.allSatisfy(\.isFinite), (bias ?? []).allSatisfy(\.isFinite) else {
            throw .nonFiniteWeight(layer: layer)
        }
        self.outputs = outputs
        self.inputs = k
        self.zOut = zOut
        (b, m, s) = ([], [], [])
        let weights = PerChannelWeights(weight, outputs: outputs) {
            // A rescale of 2^-20: weights under it change the output by under 2^-13 LSB in all,
            // and a bias of up to 2048 output LSBs still fits the int32 accumulator.
            outputScale($0) / input.scale * 0x1p-20
        }
        w = weights.q
        for o in 0..<outputs {
            let q = w[(o * k)..<(o * k + k)]
            let sw = weights.scales[o]
            let accScale = input.scale * sw
            let rowSum = q.reduce(0) { $0 + Int($1) }
            let fused = roundEven((bias?[o] ?? 0) / accScale) - Double(input.zeroPoint * rowSum)
            // |acc| <= sum |w_q| * 128 + |b| for any int8 input, partial sums included.
            let bound = Double(q.reduce(0) { $0 + abs(Int($1)) }) * 128 + abs(fused)
            guard bound < 0x1p31 else { throw .accumulatorOverflow(layer: layer, channel: o, bound: bound) }
            let multiplier = try Multiplier(accScale / outputScale(o), layer: layer)
            b.append(Int32(fused))
            m.append(Int32(multiplier.m))
            s.append(Int32(multiplier.shift))
        }
    }
}
