import Glibc
@testable import LavitQuantize
import Testing

/// The integer layernorm of QUANT.md, run with the quantizer's parameters against float LayerNorm.
@Suite struct LayerNormTests {
    @Test(arguments: [(64, 1e-6), (24, 1e-3), (512, 1e-5), (3, 1e-6), (8, 1e-6)])
    func integerLayerNormTracksFloat(channels c: Int, eps: Double) throws {
        var rng = TestRNG(seed: UInt64(c))
        let gamma = (0..<c).map { _ in 1 + 0.3 * rng.normal() }
        let beta = (0..<c).map { _ in 0.2 * rng.normal() }
        let input = ActivationQuant(scale: 0.05, zeroPoint: -20)
        let output = ActivationQuant.asymmetric(lo: -4, hi: 4.5)
        let params = try LayerNormParameters(
            layer: "t", gamma: gamma, beta: beta, eps: eps, input: input, output: output)
        #expect(params.p[0] == -20 && params.p[3] == Int64(output.zeroPoint))
        #expect(params.g.map { abs(Int64($0)) }.max()! >= 1 << 30, "the shift uses the int32 range")

        let rows = 40
        // Rows of varied spread, including a constant row where only E keeps the root positive.
        var codes: [Int8] = []
        for r in 0..<rows {
            let spread = r == 0 ? 0 : Double(r % 7) * 12 + 1
            codes += (0..<c).map { _ in Int8(max(-128, min(127, (spread * rng.normal() - 10).rounded()))) }
        }
        let y = IntegerKernels.layerNorm(x: codes, rows: rows, g: params.g, bb: params.bb, p: params.p)
        let realE = eps * Double(c * c * c) / (input.scale * input.scale)
        for r in 0..<rows {
            let x = (0..<c).map { input.dequantize(Int(codes[r * c + $0])) }
            let mean = x.reduce(0, +) / Double(c)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
            // The kernel's own resolution: the root of W = V + E has 22 fractional bits where W is
            // small, inv = floor(2^(40+k) / R) is relatively off by at most sqrt(W) / 2^40, E is an
            // integer at least 1, and t has 2^-15 * sqrt(C) resolution in normalised units.
            let q = (0..<c).map { Int64(codes[r * c + $0]) + 20 }
            let total = q.reduce(0, +)
            let v = q.reduce(Int64(0)) { acc, qi in acc + (Int64(c) * qi - total) * (Int64(c) * qi - total) }
            let w = Double(v + params.p[1])
            let relative = 0x1p-22 + w.squareRoot() * 0x1p-40 + abs(Double(params.p[1]) - realE) / (Double(v) + realE)
            for i in 0..<c {
                let normalised = (x[i] - mean) / (variance + eps).squareRoot()
                let want = normalised * gamma[i] + beta[i]
                let clipped = min(max(want, output.dequantize(-128)), output.dequantize(127))
                let steps = abs(gamma[i]) / output.scale
                let bound = 0.5 + steps * (abs(normalised) * relative + Double(c).squareRoot() * 0x1p-15) + 0.01
                let error = abs(output.dequantize(Int(y[r * c + i])) - clipped) / output.scale
                #expect(error <= bound, "row \(r) channel \(i): \(error) steps, bound \(bound)")
            }
        }
    }

    @Test func refusesTooManyChannelsAndHugeEpsilonTerms() {
        #expect(throws: QuantizeError.self) {
            try LayerNormParameters(
                layer: "norm", gamma: .init(repeating: 1, count: 4097), beta: .init(repeating: 0, count: 4097),
                eps: 1e-6, input: .symmetric(clip: 1), output: .symmetric(clip: 1))
        }
        let error = #expect(throws: QuantizeError.self) {
            try LayerNormParameters(
                layer: "stages.1.embed.norm", gamma: [1, 1], beta: [0, 0], eps: 1, input: .symmetric(clip: 1e-10),
                output: .symmetric(clip: 1))
        }
        #expect(error?.description.hasPrefix("stages.1.embed.norm: epsilon term") == true)
    }
}
