import Glibc
@testable import LavitQuantize
import Testing

/// The softmax exp and GELU tables against the float functions they replace.
@Suite struct TableTests {
    @Test(arguments: [0.01, 0.0473, 0.2])
    func expTableIsScaledExponential(scale: Double) {
        let table = Tables.exp(scoreScale: scale)
        #expect(table.count == 256 && table[0] == 32768)
        for t in 0..<256 {
            #expect(abs(Double(table[t]) - 32768 * exp(-Double(t) * scale)) <= 0.5, "t = \(t)")
        }
        #expect(zip(table, table.dropFirst()).allSatisfy { $0 >= $1 })
    }

    /// A softmax through the table and QUANT.md's integer normalisation matches float softmax.
    @Test func integerSoftmaxMatchesFloat() {
        let scale = 0.06
        let table = Tables.exp(scoreScale: scale)
        let scores: [Int64] = [-128, -40, 0, 3, 17, 90, 91, 127]
        let mx = scores.max()!
        let e = scores.map { Int64(table[Int(mx - $0)]) }
        let inv = (Int64(1) << 46) / e.reduce(0, +)
        let p = e.map { min(32767, IntegerKernels.rs($0 * inv, 31)) }
        let exps = scores.map { exp(Double($0) * scale) }
        for (j, want) in exps.map({ $0 / exps.reduce(0, +) }).enumerated() {
            #expect(abs(Double(p[j]) * 0x1p-15 - want) <= 2 * 0x1p-15, "score \(scores[j])")
        }
    }

    @Test func geluTableIsGeluWithinHalfAStep() {
        let input = ActivationQuant(scale: 0.05, zeroPoint: 30)
        let output = ActivationQuant.asymmetric(lo: -0.17, hi: 4)
        let table = Tables.gelu(input: input, output: output)
        #expect(table.count == 256)
        for x in -128...127 {
            let v = input.dequantize(x)
            let gelu = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            let clipped = min(max(gelu, output.dequantize(-128)), output.dequantize(127))
            #expect(abs(output.dequantize(Int(table[x + 128])) - clipped) <= output.scale / 2 + 1e-12, "x = \(x)")
        }
        // GELU(0) = 0 lands exactly on the output's zero point.
        #expect(Int(table[30 + 128]) == output.zeroPoint)
    }
}
