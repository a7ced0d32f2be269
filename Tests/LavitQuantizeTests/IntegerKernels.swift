/// Straight transcriptions of Tools/QUANT.md's kernels, written from the text alone, so the
/// quantizer's parameters can be checked by running the arithmetic the engine will run.
enum IntegerKernels {
    /// `RS(x, n) = (x + 2^(n-1)) >> n`, arithmetic shift.
    static func rs(_ x: Int64, _ n: Int64) -> Int64 { (x + (1 << (n - 1))) >> n }

    static func sat8(_ x: Int64) -> Int8 { Int8(max(-128, min(127, x))) }

    /// gemm: `x` is `(rows, k)` int8 codes; returns `(rows, outputs)` int8 (int64 for gemm32).
    static func gemm(
        x: [Int8], rows: Int, w: [Int8], b: [Int32], m: [Int32], s: [Int32], zOut: Int64?
    ) -> [Int64] {
        let outputs = b.count
        let k = w.count / outputs
        var y: [Int64] = []
        for r in 0..<rows {
            for o in 0..<outputs {
                var acc = Int64(b[o])
                for j in 0..<k { acc += Int64(w[o * k + j]) * Int64(x[r * k + j]) }
                precondition(Int64(Int32.min)...Int64(Int32.max) ~= acc, "int32 accumulator overflow")
                let scaled = rs(acc * Int64(m[o]), Int64(s[o]))
                y.append(zOut.map { Int64(sat8($0 + scaled)) } ?? max(Int64(Int32.min), min(Int64(Int32.max), scaled)))
            }
        }
        return y
    }

    /// layernorm over each row of `(rows, c)`.
    static func layerNorm(x: [Int8], rows: Int, g: [Int32], bb: [Int64], p: [Int64]) -> [Int8] {
        let c = g.count
        let (zIn, e, shift, zOut) = (p[0], p[1], p[2], p[3])
        var y: [Int8] = []
        for r in 0..<rows {
            let q = (0..<c).map { Int64(x[r * c + $0]) - zIn }
            let sum = q.reduce(0, +)
            let d = q.map { Int64(c) * $0 - sum }
            let v = d.reduce(0) { $0 + $1 * $1 }
            let w = v + e
            let k = min(22, max(0, (62 - Int64(64 - w.leadingZeroBitCount)) / 2))
            let inv = (1 << (40 + k)) / isqrt(w << (2 * k))
            for i in 0..<c {
                let t = rs(d[i] * inv, 25)
                y.append(sat8(zOut + rs(t * Int64(g[i]) + bb[i], shift)))
            }
        }
        return y
    }

    /// Floor square root, exact.
    static func isqrt(_ n: Int64) -> Int64 {
        var r = Int64(Double(n).squareRoot())
        while r * r > n { r -= 1 }
        while (r + 1) * (r + 1) <= n { r += 1 }
        return r
    }

    /// add2: `y = sat8(z_out + RS((a - z_a) M_a + (b - z_b) M_b, n))`.
    static func add2(_ a: Int8, _ b: Int8, p: [Int64]) -> Int8 {
        sat8(p[2] + rs((Int64(a) - p[0]) * p[3] + (Int64(b) - p[1]) * p[4], p[5]))
    }

    /// The stem's patchify of an `(H, W, C)` uint8 frame into rows `(c, ky, kx)` of `u - 128`.
    static func stemPatches(_ u8: [UInt8], height: Int, width: Int, channels c: Int, kernel k: Int) -> [Int8] {
        var rows: [Int8] = []
        for y in 0..<(height / k) {
            for x in 0..<(width / k) {
                for ch in 0..<c {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            rows.append(Int8(Int(u8[((y * k + ky) * width + x * k + kx) * c + ch]) - 128))
                        }
                    }
                }
            }
        }
        return rows
    }
}
