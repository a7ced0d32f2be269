import LavitKernels
import LavitModelFile

/// Looks up the tensors of QUANT.md "Model-file contents" for one layer and turns them into kernel
/// parameters, checking existence, dtype, exact shape and every range QUANT.md states. It also
/// proves, per output channel, that the kernel's int64 arithmetic cannot overflow for any input,
/// so a hostile file gets an error here instead of a trap during inference.
struct TensorResolver {
    let file: ModelFile

    static let shifts: ClosedRange<Int64> = 1...62
    /// A lone multiplier `M` lies in [2^30, 2^31) (QUANT.md "Numbers").
    static let multipliers: ClosedRange<Int64> = (1 << 30)...((1 << 31) - 1)
    /// Multipliers that share one shift (add2) are each below 2^31; the smaller may be below 2^30.
    static let sharedMultipliers: ClosedRange<Int64> = 0...((1 << 31) - 1)
    static let zeroPoints: ClosedRange<Int64> = -128...127
    /// The largest `|w x|` or `|q k|` of two int8 codes (a bound, though weights stop at -127).
    static let int8Product: Int64 = 128 * 128
    static let layerNormChannels = 4096
    /// The most keys whose `32767 * 128` products still sum within int32 (QUANT.md kernel 7).
    static let pvKeys = 511

    private func fail(_ reason: Int8EngineError.Reason) -> Int8EngineError {
        Int8EngineError(source: file.source, reason: reason)
    }

    /// The elements of `name` after checking its dtype and exact shape.
    func tensor<T: ModelFileElement>(_ name: String, _ shape: [Int], as type: T.Type = T.self)
        throws(Int8EngineError) -> UnsafeBufferPointer<T>
    {
        guard let entry = file.tensor(named: name) else { throw fail(.missingTensor(name)) }
        guard entry.dtype == T.dtype else { throw fail(.dtype(tensor: name, found: entry.dtype, expected: T.dtype)) }
        guard entry.shape == shape else { throw fail(.shape(tensor: name, found: entry.shape, expected: shape)) }
        do throws(ModelFileError) { return try file.elements(name) } catch {
            throw fail(.missingTensor(name))
        }
    }

    func check(
        _ tensor: String, _ index: Int, _ field: String, _ value: Int64, _ range: ClosedRange<Int64>
    ) throws(Int8EngineError) {
        guard range.contains(value) else {
            throw fail(.outOfRange(tensor: tensor, index: index, field: field, value: value, range: range))
        }
    }

    /// Fails unless `|acc| <= maxAccumulator` keeps `acc * multiplier + 2^(shift - 1)` inside int64.
    func checkRequantization(
        _ tensor: String, _ index: Int, maxAccumulator: Int64, multiplier: Int64, shift: Int64
    ) throws(Int8EngineError) {
        let (product, overflow) = maxAccumulator.multipliedReportingOverflow(by: multiplier)
        let (_, overflow2) = product.addingReportingOverflow(Int64(1) << (shift - 1))
        guard !overflow, !overflow2 else {
            throw fail(.mayOverflow(
                tensor: tensor, index: index,
                bound: "worst-case accumulator \(maxAccumulator) x multiplier \(multiplier) + 2^\(shift - 1)"))
        }
    }

    /// `count * each + extra`, saturating at Int64.max, for worst-case bounds checked against int64.
    static func bound(_ count: Int, _ each: Int64, plus extra: Int64 = 0) -> Int64 {
        let (product, overflow) = Int64(count).multipliedReportingOverflow(by: each)
        let (sum, overflow2) = product.addingReportingOverflow(extra)
        return overflow || overflow2 ? .max : sum
    }

    /// Kernel 1: `.w .b .m .s` and, unless `int32Output` (gemm32, the head), `.p = [z_out]`, which
    /// must be 0 for a `symmetric` output (q, k, v, Psi's scores, the AR output): the kernels that
    /// read those have no zero-point terms.
    func gemm(_ layer: String, outputs: Int, depth: Int, symmetric: Bool = false, int32Output: Bool = false)
        throws(Int8EngineError) -> GemmParameters
    {
        let w: UnsafeBufferPointer<Int8> = try tensor("\(layer).w", [outputs, depth])
        let b: UnsafeBufferPointer<Int32> = try tensor("\(layer).b", [outputs])
        let m: UnsafeBufferPointer<Int32> = try tensor("\(layer).m", [outputs])
        let s: UnsafeBufferPointer<Int32> = try tensor("\(layer).s", [outputs])
        var zeroPoint: Int64 = 0
        if !int32Output {
            let p: UnsafeBufferPointer<Int64> = try tensor("\(layer).p", [1])
            try check("\(layer).p", 0, "z_out", p[0], symmetric ? 0...0 : Self.zeroPoints)
            zeroPoint = p[0]
        }
        try checkWeights("\(layer).w", w)
        try checkAccumulator("\(layer).w", weights: w, bias: b, depth: depth)
        try checkChannels(layer, bias: b, multiplier: m, shift: s, depth: depth)
        return GemmParameters(
            weights: w, bias: b, multiplier: m, shift: s, zeroPoint: zeroPoint, outputs: outputs, depth: depth)
    }

    /// Weights are symmetric, in [-127, 127] (QUANT.md "Numbers"); -128 would be a quantizer bug
    /// that faster kernels relying on the symmetric range could turn into a different result.
    private func checkWeights(_ name: String, _ w: UnsafeBufferPointer<Int8>) throws(Int8EngineError) {
        if let i = w.firstIndex(of: -128) { try check(name, i, "weight", -128, -127...127) }
    }

    /// QUANT.md's int32 accumulator: for every row `128 * sum_k |w[o, k]| + |b[o]| < 2^31`, as the
    /// Python reference requires. The scalar kernel accumulates in int64 and would compute such a
    /// row anyway; a SIMD kernel accumulating in int32 would wrap, so a file that breaks the bound
    /// must be refused, never run with variants that disagree.
    private func checkAccumulator(
        _ name: String, weights w: UnsafeBufferPointer<Int8>, bias b: UnsafeBufferPointer<Int32>, depth: Int
    ) throws(Int8EngineError) {
        for o in 0..<b.count {
            var sum: Int64 = 0
            for k in (o * depth)..<((o + 1) * depth) { sum += Int64(abs(Int32(w[k]))) }
            let bound = 128 * sum + abs(Int64(b[o]))
            guard bound <= Int64(Int32.max) else {
                throw fail(.mayOverflow(
                    tensor: name, index: o,
                    bound: "128 x sum |w| + |b| = \(bound) exceeds the int32 accumulator (2^31 - 1)"))
            }
        }
    }

    /// Per-channel multiplier and shift ranges, and the int64 bound of `depth` int8 products plus bias.
    private func checkChannels(
        _ layer: String, bias: UnsafeBufferPointer<Int32>, multiplier: UnsafeBufferPointer<Int32>,
        shift: UnsafeBufferPointer<Int32>, depth: Int
    ) throws(Int8EngineError) {
        for o in 0..<bias.count {
            let (m, s) = (Int64(multiplier[o]), Int64(shift[o]))
            try check("\(layer).m", o, "multiplier", m, Self.multipliers)
            try check("\(layer).s", o, "shift", s, Self.shifts)
            let accumulator = Self.bound(depth, Self.int8Product, plus: abs(Int64(bias[o])))
            try checkRequantization("\(layer).m", o, maxAccumulator: accumulator, multiplier: m, shift: s)
        }
    }

    /// Kernel 3: `.g .bb` and `.p = [z_in, E, shift, z_out]`.
    func layerNorm(_ layer: String, channels: Int) throws(Int8EngineError) -> LayerNormParameters {
        guard channels <= Self.layerNormChannels else {
            throw fail(.tooWide(tensor: "\(layer).g", channels: channels, limit: Self.layerNormChannels))
        }
        let g: UnsafeBufferPointer<Int32> = try tensor("\(layer).g", [channels])
        let bb: UnsafeBufferPointer<Int64> = try tensor("\(layer).bb", [channels])
        let p: UnsafeBufferPointer<Int64> = try tensor("\(layer).p", [4])
        let name = "\(layer).p"
        try check(name, 0, "z_in", p[0], Self.zeroPoints)
        // E >= 1 keeps R >= 1; E <= 2^62 keeps V + E (V < 2^52 for C <= 4096) inside int64.
        try check(name, 1, "E", p[1], 1...(1 << 62))
        try check(name, 2, "shift", p[2], Self.shifts)
        try check(name, 3, "z_out", p[3], Self.zeroPoints)
        for i in 0..<channels {
            try check("\(layer).g", i, "gain", Int64(g[i]), -((1 << 31) - 1)...((1 << 31) - 1))
            try check("\(layer).bb", i, "bias", bb[i], -((1 << 46) - 1)...((1 << 46) - 1))
        }
        return LayerNormParameters(gain: g, bias: bb, zeroIn: p[0], epsilon: p[1], shift: p[2], zeroOut: p[3])
    }

    /// Kernel 4: `.p = [z_a, z_b, z_out, M_a, M_b, n]`.
    func add2(_ layer: String) throws(Int8EngineError) -> Add2Parameters {
        let name = "\(layer).p"
        let p: UnsafeBufferPointer<Int64> = try tensor(name, [6])
        for (i, field) in ["z_a", "z_b", "z_out"].enumerated() { try check(name, i, field, p[i], Self.zeroPoints) }
        try check(name, 3, "M_a", p[3], Self.sharedMultipliers)
        try check(name, 4, "M_b", p[4], Self.sharedMultipliers)
        try check(name, 5, "n", p[5], Self.shifts)
        return Add2Parameters(zeroA: p[0], zeroB: p[1], zeroOut: p[2], multiplierA: p[3], multiplierB: p[4], shift: p[5])
    }

    /// Kernels 5 and 7: `.p = [M, n]`, for accumulators up to `maxAccumulator` in magnitude.
    func requantization(_ layer: String, maxAccumulator: Int64) throws(Int8EngineError) -> Requantization {
        let name = "\(layer).p"
        let p: UnsafeBufferPointer<Int64> = try tensor(name, [2])
        try check(name, 0, "M", p[0], Self.multipliers)
        try check(name, 1, "n", p[1], Self.shifts)
        try checkRequantization(name, 0, maxAccumulator: maxAccumulator, multiplier: p[0], shift: p[1])
        return Requantization(multiplier: p[0], shift: p[1])
    }

    /// Kernel 7: `.p = [M, n]`, for rows of `keys` int16 probabilities below 2^15 times int8 values,
    /// whose sum must fit the int32 accumulators SIMD variants keep.
    func pv(_ layer: String, keys: Int) throws(Int8EngineError) -> Requantization {
        guard keys <= Self.pvKeys else { throw fail(.tooManyKeys(tensor: "\(layer).p", keys: keys, limit: Self.pvKeys)) }
        return try requantization(layer, maxAccumulator: Self.bound(keys, Int64(Int16.max) * 128))
    }

    /// Kernel 6: `.exp`, with `exp[0] = 32768` and every entry in [0, 32768] as the quantizer's
    /// `round(2^15 exp(-t s_A))` gives; `exp[0] > 0` is what keeps the row sum from being 0.
    func softmax(_ layer: String) throws(Int8EngineError) -> UnsafeBufferPointer<Int32> {
        let name = "\(layer).exp"
        let table: UnsafeBufferPointer<Int32> = try tensor(name, [256])
        try check(name, 0, "exp[0]", Int64(table[0]), 32768...32768)
        for t in 1..<256 { try check(name, t, "exp", Int64(table[t]), 0...32768) }
        return table
    }

    /// Kernel 8: `.t`.
    func gelu(_ layer: String) throws(Int8EngineError) -> UnsafeBufferPointer<Int8> {
        try tensor("\(layer).t", [256])
    }

    /// Kernel 9: `.w` [channels, 4], `.b .m .s` [channels], `.p = [z_out]`.
    func depthwiseConv2(_ layer: String, channels: Int) throws(Int8EngineError) -> DepthwiseConv2Parameters {
        let w: UnsafeBufferPointer<Int8> = try tensor("\(layer).w", [channels, 4])
        let b: UnsafeBufferPointer<Int32> = try tensor("\(layer).b", [channels])
        let m: UnsafeBufferPointer<Int32> = try tensor("\(layer).m", [channels])
        let s: UnsafeBufferPointer<Int32> = try tensor("\(layer).s", [channels])
        let p: UnsafeBufferPointer<Int64> = try tensor("\(layer).p", [1])
        try check("\(layer).p", 0, "z_out", p[0], Self.zeroPoints)
        try checkWeights("\(layer).w", w)
        try checkChannels(layer, bias: b, multiplier: m, shift: s, depth: 4)
        return DepthwiseConv2Parameters(weights: w, bias: b, multiplier: m, shift: s, zeroPoint: p[0])
    }

    /// Kernel 10: `.p = [z_in, M, n, z_out]` for a mean over `rows` rows.
    func meanPool(_ layer: String, rows: Int) throws(Int8EngineError) -> MeanPoolParameters {
        let name = "\(layer).p"
        let p: UnsafeBufferPointer<Int64> = try tensor(name, [4])
        try check(name, 0, "z_in", p[0], Self.zeroPoints)
        try check(name, 1, "M", p[1], Self.multipliers)
        try check(name, 2, "n", p[2], Self.shifts)
        try check(name, 3, "z_out", p[3], Self.zeroPoints)
        try checkRequantization(name, 1, maxAccumulator: Self.bound(rows, 255), multiplier: p[1], shift: p[2])
        return MeanPoolParameters(zeroIn: p[0], multiplier: p[1], shift: p[2], zeroOut: p[3])
    }
}
