import Glibc
@testable import LavitQuantize
import Testing

/// Range selection: clips outliers when that lowers the error, keeps the range when it does not.
@Suite struct RangeSearchTests {
    static func stats(_ values: [Float]) -> TapStatistics {
        TapStatistics(min: values.min() ?? 0, max: values.max() ?? 0, count: values.count, sample: values)
    }

    /// Mean squared quantize-dequantize error of `values` under `q`, evaluated value by value.
    static func mse(_ values: [Float], _ q: ActivationQuant) -> Double {
        values.reduce(0) { acc, v in
            let e = Double(v) - q.dequantize(Int(q.quantize(Double(v))))
            return acc + e * e
        } / Double(values.count)
    }

    /// Student's t with 3 degrees of freedom: a normal over the root of a chi-square / 3. Its
    /// tail is heavy enough that the squared-error optimum (about 60 here, from
    /// `2.2 / c + c^2 / (12 * 127^2)`) lies well below the sample's maximum (about 86).
    static func studentT(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRNG(seed: seed)
        return (0..<count).map { _ in
            let chi = (0..<3).reduce(0.0) { acc, _ in let n = rng.normal(); return acc + n * n }
            return Float(rng.normal() / (chi / 3).squareRoot())
        }
    }

    @Test func symmetricClipsAHeavyTail() {
        let values = Self.studentT(100_000, seed: 1)
        let s = Self.stats(values)
        let chosen = RangeSearch.symmetric(s)
        let plain = ActivationQuant.symmetric(clip: Double(s.maxAbs))
        #expect(chosen.scale * 127 < 0.8 * Double(s.maxAbs), "clip \(chosen.scale * 127) of max \(s.maxAbs)")
        #expect(Self.mse(values, chosen) < 0.8 * Self.mse(values, plain))
    }

    @Test func symmetricKeepsTheMaximumOfAUniformSample() {
        var rng = TestRNG(seed: 2)
        let values = (0..<100_000).map { _ in Float(6 * rng.uniform() - 3) }
        let s = Self.stats(values)
        #expect(RangeSearch.symmetric(s).scale == Double(s.maxAbs) / 127)
    }

    @Test func asymmetricKeepsAUniformRangeAndItsZeroPoint() {
        var rng = TestRNG(seed: 3)
        let values = (0..<100_000).map { _ in Float(5 * rng.uniform() - 1) }
        let s = Self.stats(values)
        let chosen = RangeSearch.asymmetric(s)
        #expect(chosen == ActivationQuant.asymmetric(lo: Double(s.min), hi: Double(s.max)))
        // [-1, 4]: s = 5 / 255, zero point -128 + 1 / s = -77.
        #expect(chosen.zeroPoint == -77)
    }

    /// Heavy tails on both sides, the negative one half as wide: each end is clipped by its own
    /// amount. (With 255 steps over the range, clipping only pays on tails this heavy; a one-sided
    /// t3 tail would keep its maximum.)
    @Test func asymmetricShrinksEachEndOnItsOwn() {
        let values = Self.studentT(100_000, seed: 4).map { $0 < 0 ? $0 / 2 : $0 }
        let s = Self.stats(values)
        let chosen = RangeSearch.asymmetric(s)
        let (lo, hi) = (chosen.dequantize(-128), chosen.dequantize(127))
        #expect(hi < 0.95 * Double(s.max), "hi \(hi) of max \(s.max)")
        #expect(lo > 0.95 * Double(s.min), "lo \(lo) of min \(s.min)")
        #expect(abs(lo / Double(s.min) - hi / Double(s.max)) > 0.05, "one fraction for both ends")
        #expect(Self.mse(values, chosen) < 0.9 * Self.mse(values, .asymmetric(lo: Double(s.min), hi: Double(s.max))))
    }

    @Test func emptyRangesGetAUsableScale() {
        let zeros = Self.stats([0, 0, 0])
        #expect(RangeSearch.symmetric(zeros).scale > 0)
        #expect(RangeSearch.asymmetric(zeros).scale > 0)
        let positive = Self.stats([2, 2])
        let q = RangeSearch.asymmetric(positive)
        #expect(q.zeroPoint == -128 && q.dequantize(127) >= 2 - q.scale)
    }

    @Test func perChannelWeightsAreWithinHalfAStepAndUseTheFullRange() {
        var rng = TestRNG(seed: 5)
        let (rows, k) = (12, 40)
        var w = (0..<(rows * k)).map { i in rng.normal() * Double(i / k + 1) * 0.01 }
        for j in 0..<k { w[3 * k + j] = 0 }
        let q = PerChannelWeights(w, outputs: rows) { _ in 1e-9 }
        for o in 0..<rows {
            let row = (0..<k).map { q.q[o * k + $0] }
            if o == 3 {
                #expect(q.scales[o] == 1e-9 && row.allSatisfy { $0 == 0 })
                continue
            }
            #expect(row.map { abs(Int($0)) }.max() == 127, "row \(o)")
            for j in 0..<k {
                #expect(abs(w[o * k + j] - q.scales[o] * Double(row[j])) <= q.scales[o] / 2 * (1 + 1e-12))
            }
        }
    }
}
