import LavitKernels
import Testing

@Suite struct AttentionTests {
    static let shape = AttentionShape(heads: 2, headDim: 2, tokens: 2, keys: 3)
    static let half = Requantization(multiplier: 1 << 30, shift: 31)

    @Test func qkPerHeadWithStrides() {
        // q rows at stride 5, k rows at stride 4 (the 9s are padding).
        let q = Buffer<Int8>([1, 2, 3, -1, 9, 0, -2, 1, 1, 9])
        let k = Buffer<Int8>([1, 1, 0, 2, -1, 0, 2, 2, 3, -3, 1, -1])
        let a = Buffer<Int8>(repeating: 0, count: 12)
        ScalarKernels.qk(q: q.read, stride: 5, k: k.read, stride: 4, Self.shape, Self.half, into: a.pointer)
        // Dot products (head 0 on channels 0-1, head 1 on 2-3), halved with ties up:
        // h0: n0 [3, -1, -3] -> [2, 0, -1]; n1 [-2, 0, 6] -> [-1, 0, 3]
        // h1: n0 [-2, 4, 4] -> [-1, 2, 2]; n1 [2, 4, 0] -> [1, 2, 0]
        #expect(a.array == [2, 0, -1, -1, 0, 3, -1, 2, 2, 1, 2, 0])
    }

    /// A table that halves per unit of score difference and is 0 from 16 on.
    let halving = Buffer<Int32>((0..<256).map { $0 < 16 ? Int32(32768 >> $0) : 0 })

    @Test func softmaxOfEqualScoresIsUniform() {
        for cols in [1, 2, 3, 4, 7, 49, 196] {
            let a = Buffer<Int8>((0..<2 * cols).map { $0 < cols ? 17 : -128 })
            let p = Buffer<Int16>(repeating: 0, count: 2 * cols)
            ScalarKernels.softmax(a.read, rows: 2, cols: cols, exp: halving.read, into: p.pointer)
            // Each e_j = 32768, S = 32768 cols, inv = floor(2^31 / cols), p = RS(2^15 inv, 31), which
            // is 2^15 for one column and so clamps to 32767.
            let inv = (1 << 31) / cols
            let expected = Int16(min(32767, (32768 * inv + (1 << 30)) >> 31))
            #expect(p.array == Array(repeating: expected, count: 2 * cols), "cols \(cols)")
        }
    }

    @Test func softmaxWorkedRows() {
        let a = Buffer<Int8>([3, 2, 2, -128, 127, 5, 5, 5, 5])
        let p = Buffer<Int16>(repeating: 0, count: 9)
        ScalarKernels.softmax(a.read, rows: 3, cols: 3, exp: halving.read, into: p.pointer)
        // Row 0: e = [32768, 16384, 16384], S = 65536, inv = 2^30: [16384, 8192, 8192].
        // Row 1: differences [255, 0, 122] -> e = [0, 32768, 0]: [0, 2^15 -> 32767, 0] (the clamp binds).
        // Row 2: uniform over 3: inv = floor(2^31 / 3) = 715827882, p = RS(2^15 inv, 31) = 10923 (10922.67).
        #expect(p.array == [16384, 8192, 8192, 0, 32767, 0, 10923, 10923, 10923])
    }

    @Test func pvPerHeadWithStrides() {
        let p = Buffer<Int16>([32767, 0, 0, 16384, 8192, 8192, 0, 0, 32767, 10923, 10923, 10923])
        let v = Buffer<Int8>([10, -10, 1, 2, 20, 0, 3, 4, -30, 40, 5, -6])
        let o = Buffer<Int8>(repeating: 9, count: 10)
        let r = Requantization(multiplier: 1 << 30, shift: 45)  // 2^-15
        ScalarKernels.pv(p: p.read, v: v.read, stride: 4, Self.shape, r, into: o.pointer, stride: 5)
        // Accumulators / 2^15: h0 n0 [9.9997, -9.9997] -> [10, -10]; h0 n1 [2.5, 5] -> [3 (tie up), 5]
        // h1 n0 [4.9998, -5.9998] -> [5, -6]; h1 n1 [3.0001, 0] -> [3, 0]
        #expect(o.array == [10, -10, 5, -6, 9, 3, 5, 3, 0, 9])
    }
}
