@testable import LavitQuantize
import Testing

/// The fused bias and per-channel rescale of a gemm, checked by running QUANT.md's integer gemm.
@Suite struct GemmParameterTests {
    /// A random `(outputs, k)` layer with a bias, one all-zero row and one large-bias row, on
    /// asymmetric input codes; the dequantized integer output must match the float layer applied
    /// to the dequantized input within a bound built from the scales alone.
    @Test(arguments: [-128, -77, 0, 55])
    func dequantizedOutputMatchesFloat(inputZeroPoint: Int) throws {
        var rng = TestRNG(seed: UInt64(inputZeroPoint + 1000))
        let (rows, k, outputs) = (24, 96, 16)
        var weight = (0..<(outputs * k)).map { _ in rng.normal() * 0.05 }
        for j in 0..<k { weight[5 * k + j] = 0 }
        var bias = (0..<outputs).map { _ in rng.normal() * 0.3 }
        bias[9] = 2.5
        let input = ActivationQuant(scale: 0.021, zeroPoint: inputZeroPoint)
        let codes = (0..<(rows * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let x = codes.map { input.dequantize(Int($0)) }

        var reference = [Double](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for o in 0..<outputs {
                reference[r * outputs + o] = bias[o] + (0..<k).reduce(0.0) { $0 + weight[o * k + $1] * x[r * k + $1] }
            }
        }
        let output = ActivationQuant.asymmetric(lo: reference.min()!, hi: reference.max()!)
        let params = try GemmParameters(
            layer: "t", weight: weight, bias: bias, outputs: outputs, input: input,
            outputScale: { _ in output.scale }, zOut: output.zeroPoint)
        let y = IntegerKernels.gemm(
            x: codes, rows: rows, w: params.w, b: params.b, m: params.m, s: params.s, zOut: Int64(output.zeroPoint))

        for o in 0..<outputs {
            let sw = (0..<k).map { abs(weight[o * k + $0]) }.max()! / 127
            for r in 0..<rows {
                let got = output.dequantize(Int(y[r * outputs + o]))
                // Output rounding, each weight off by at most s_w / 2, the bias by half an
                // accumulator unit, and the multiplier's relative error 2^-30.
                let inputMass = (0..<k).reduce(0.0) { $0 + abs(x[r * k + $1]) }
                let bound = output.scale / 2 + sw / 2 * inputMass + input.scale * sw / 2
                    + abs(reference[r * outputs + o]) * 0x1p-30 + 1e-12
                #expect(abs(got - reference[r * outputs + o]) <= bound, "row \(r) channel \(o)")
            }
        }
        // The zero row is the bias alone, exact to the output step.
        #expect(params.w[(5 * k)..<(6 * k)].allSatisfy { $0 == 0 })
    }

    @Test func biasFusesTheInputZeroPoint() throws {
        let weight: [Double] = [0.3, -0.25, 1, 0, 0.125, 0.75]
        let input = ActivationQuant(scale: 0.5, zeroPoint: 10)
        let params = try GemmParameters(
            layer: "t", weight: weight, bias: [1, -2], outputs: 2, input: input, outputScale: { _ in 0.1 }, zOut: 0)
        // Row 0: s_w = 1/127, codes [38, -32, 127] (38.1, -31.75), accumulator scale 0.5/127,
        // bias 1 / (0.5/127) = 254, minus 10 * (38 - 32 + 127).
        #expect(params.w[0..<3] == [38, -32, 127])
        #expect(params.b[0] == 254 - 10 * 133)
        // Row 1: s_w = 0.75/127, codes [0, 21, 127] (0.125/0.75*127 = 21.17), bias -2 / (0.375/127).
        #expect(params.w[3..<6] == [0, 21, 127])
        #expect(params.b[1] == Int32((-2 / (0.375 / 127)).rounded(.toNearestOrEven)) - 10 * 148)
    }

    @Test func accumulatorOverflowNamesTheLayerAndChannel() {
        let error = #expect(throws: QuantizeError.self) {
            try GemmParameters(
                layer: "stages.0.blocks.0.mlp.fc2", weight: [1, 1, 1e-9, 1], bias: [0, 1e6], outputs: 2,
                input: ActivationQuant(scale: 1e-3, zeroPoint: 0), outputScale: { _ in 1 }, zOut: 0)
        }
        guard case .accumulatorOverflow(let layer, let channel, let bound)? = error else {
            Issue.record("expected an accumulator overflow, got \(String(describing: error))")
            return
        }
        // Channel 1's bias alone is 1e6 / (1e-3 / 127) = 1.27e11 accumulator units.
        #expect(layer == "stages.0.blocks.0.mlp.fc2" && channel == 1 && bound > 1.2e11)
        #expect(error?.description.hasPrefix("stages.0.blocks.0.mlp.fc2: output channel 1") == true)
    }

    @Test func nonFiniteWeightsAreRefused() {
        #expect(throws: QuantizeError.nonFiniteWeight(layer: "head")) {
            try GemmParameters(
                layer: "head", weight: [1, .nan], bias: nil, outputs: 1, input: .symmetric(clip: 1),
                outputScale: { _ in 1 }, zOut: nil)
        }
    }

    /// A LayerScale gamma trained to ~0 leaves a channel with weights around 1e-15: its rescale
    /// must not underflow the shift range (it did, on a real checkpoint); its weights round to 0
    /// and its bias survives.
    @Test func nearZeroRowStaysInRange() throws {
        let (k, outputs) = (8, 3)
        var weight = (0..<(outputs * k)).map { Double($0 % 5) * 0.1 - 0.2 }
        for j in 0..<k { weight[1 * k + j] = 1e-15 * Double(j + 1) }
        let input = ActivationQuant(scale: 0.05, zeroPoint: 3)
        let params = try GemmParameters(
            layer: "pw", weight: weight, bias: [0.1, 0.2, -0.1], outputs: outputs, input: input,
            outputScale: { _ in 0.01 }, zOut: 0)
        #expect(params.w[(1 * k)..<(2 * k)].allSatisfy { $0 == 0 })
        #expect(params.s.allSatisfy { (1...62).contains($0) })
        // Bias 0.2 over s_out 0.01 is 20 output units, whatever the input.
        let y = IntegerKernels.gemm(
            x: [Int8](repeating: 50, count: k), rows: 1, w: params.w, b: params.b, m: params.m, s: params.s, zOut: 0)
        #expect(y[1] == 20)
    }
}
