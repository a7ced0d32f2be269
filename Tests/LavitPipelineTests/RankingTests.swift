import Glibc
import LavitPipeline
import Testing

@Suite struct RankingTests {
    func softmax(_ logits: [Int32], scale: Double) -> [Double] {
        var out = [Double](repeating: -1, count: logits.count)
        logits.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { Ranking.softmax(logits: l, scale: scale, into: $0) } }
        return out
    }

    func top(_ k: Int, _ values: [Double]) -> [Int] {
        var indices = [Int](repeating: -1, count: k)
        var scores = [Double](repeating: 0, count: k)
        let n = values.withUnsafeBufferPointer { v in
            indices.withUnsafeMutableBufferPointer { i in scores.withUnsafeMutableBufferPointer { Ranking.top(k, of: v, indices: i, scores: $0) } }
        }
        for r in 0..<n { #expect(scores[r] == values[indices[r]]) }
        return Array(indices.prefix(n))
    }

    @Test func softmaxMatchesTheFormula() {
        let p = softmax([10, 20, 0, -5], scale: 0.1)
        let e = [1.0, 2.0, 0.0, -0.5].map { exp($0) }
        let sum = e.reduce(0, +)
        for i in 0..<4 { #expect(abs(p[i] - e[i] / sum) < 1e-12) }
    }

    @Test func extremeScalesNeverTrap() {
        #expect(softmax([1, 2], scale: .infinity) == [0, 0])
        #expect(softmax([1, 2], scale: .nan) == [0, 0])
        #expect(softmax([Int32.min, Int32.max], scale: 1e308) == [0, 1])
        let negative = softmax([Int32.min, Int32.max], scale: -1e308)
        #expect(negative == [0, 0])
    }

    @Test func topIsDescendingWithTiesToTheLowerIndex() {
        #expect(top(3, [0.1, 0.4, 0.1, 0.4]) == [1, 3, 0])
        #expect(top(10, [0.5, 0.5]) == [0, 1])
        #expect(top(2, [.nan, 0.2, .nan]) == [1])
        #expect(top(0, [0.3]) == [])
    }
}
