extension ScalarKernels {
    /// QUANT.md kernel 5: per head h, `A[h, n, j] = sat8(RS(sum_t q[n, h d + t] k[j, h d + t] * M, n))`.
    /// Row `n` of `q` starts at `n * qStride`, row `j` of `k` at `j * kStride`.
    public static func qk(
        q: UnsafeBufferPointer<Int8>, stride qStride: Int, k: UnsafeBufferPointer<Int8>, stride kStride: Int,
        _ shape: AttentionShape, _ r: Requantization, into a: UnsafeMutableBufferPointer<Int8>
    ) {
        let (heads, d, tokens, keys) = (shape.heads, shape.headDim, shape.tokens, shape.keys)
        let width = heads * d
        precondition(qStride >= width && kStride >= width, "qk strides too small")
        precondition(q.count >= (tokens - 1) * qStride + width && k.count >= (keys - 1) * kStride + width, "qk inputs too short")
        precondition(a.count >= shape.scoreCount, "qk output too short")
        for h in 0..<heads {
            for n in 0..<tokens {
                let qRow = n * qStride + h * d
                let out = (h * tokens + n) * keys
                for j in 0..<keys {
                    let kRow = j * kStride + h * d
                    let acc = dot(
                        UnsafeBufferPointer(rebasing: q[qRow..<qRow + d]), UnsafeBufferPointer(rebasing: k[kRow..<kRow + d]))
                    a[out + j] = sat8(roundingShift(acc * r.multiplier, r.shift))
                }
            }
        }
    }

    /// QUANT.md kernel 6, per row of `cols` scores: `e_j = exp[max - a_j]`, `S = sum e_j`,
    /// `inv = floor(2^15 * 2^31 / S)`, `p_j = min(32767, RS(e_j inv, 31))`. `exp` holds 256 entries
    /// with `exp[0] > 0`, so `S > 0`.
    public static func softmax(
        _ a: UnsafeBufferPointer<Int8>, rows: Int, cols: Int, exp: UnsafeBufferPointer<Int32>,
        into p: UnsafeMutableBufferPointer<Int16>
    ) {
        precondition(exp.count == 256, "softmax table has \(exp.count) entries, expected 256")
        precondition(cols >= 1 && a.count >= rows * cols && p.count >= rows * cols, "softmax buffers too short")
        for row in 0..<rows {
            let base = row * cols
            var mx = Int(a[base])
            for j in 1..<cols { mx = max(mx, Int(a[base + j])) }
            var s: Int64 = 0
            for j in 0..<cols { s += Int64(exp[mx - Int(a[base + j])]) }
            let inv = (Int64(1) << 46) / s
            for j in 0..<cols {
                let e = Int64(exp[mx - Int(a[base + j])])
                p[base + j] = Int16(min(Int64(Int16.max), roundingShift(e * inv, 31)))
            }
        }
    }

    /// QUANT.md kernel 7: per head, `o[n, h d + t] = sat8(RS(sum_j P[h, n, j] v[j, h d + t] * M, n))`
    /// (int16 x int8). Row `j` of `v` starts at `j * vStride`, row `n` of `o` at `n * oStride`.
    public static func pv(
        p: UnsafeBufferPointer<Int16>, v: UnsafeBufferPointer<Int8>, stride vStride: Int,
        _ shape: AttentionShape, _ r: Requantization,
        into o: UnsafeMutableBufferPointer<Int8>, stride oStride: Int
    ) {
        let (heads, d, tokens, keys) = (shape.heads, shape.headDim, shape.tokens, shape.keys)
        let width = heads * d
        precondition(vStride >= width && oStride >= width, "pv strides too small")
        precondition(p.count >= shape.scoreCount && v.count >= (keys - 1) * vStride + width, "pv inputs too short")
        precondition(o.count >= (tokens - 1) * oStride + width, "pv output too short")
        for h in 0..<heads {
            for n in 0..<tokens {
                let pRow = (h * tokens + n) * keys
                for t in 0..<d {
                    let column = h * d + t
                    var acc: Int64 = 0
                    for j in 0..<keys { acc += Int64(p[pRow + j]) * Int64(v[j * vStride + column]) }
                    o[n * oStride + column] = sat8(roundingShift(acc * r.multiplier, r.shift))
                }
            }
        }
    }
}
