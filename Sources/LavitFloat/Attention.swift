import LavitModel

/// `(q k^T) * scale` per head: q `(N, C)`, k `(Nk, C)`, head `h` on channels `h*d ..< (h+1)*d`;
/// result `(heads * N, Nk)`, head-major rows.
func attentionScores(q: Matrix, k: Matrix, heads: Int, scale: Float) -> Matrix {
    let (n, nk, c) = (q.rows, k.rows, q.cols)
    let d = c / heads
    var a = Matrix(zeros: heads * n, nk)
    q.data.withUnsafeBufferPointer { qs in
        k.data.withUnsafeBufferPointer { ks in
            for h in 0..<heads {
                for i in 0..<n {
                    for j in 0..<nk {
                        let s = dot(qs.baseAddress! + i * c + h * d, ks.baseAddress! + j * c + h * d, d)
                        a.data[(h * n + i) * nk + j] = s * scale
                    }
                }
            }
        }
    }
    return a
}

/// `P v` per head with heads merged back: P `(heads * N, Nk)`, v `(Nk, C)`, result `(N, C)`.
func attend(_ p: Matrix, _ v: Matrix, heads: Int) -> Matrix {
    let (nk, c) = (v.rows, v.cols)
    let (n, d) = (p.rows / heads, c / heads)
    var z = Matrix(zeros: n, c)
    for h in 0..<heads {
        for i in 0..<n {
            for j in 0..<nk {
                let weight = p.data[(h * n + i) * nk + j]
                for e in 0..<d { z.data[i * c + h * d + e] += weight * v.data[j * c + h * d + e] }
            }
        }
    }
    return z
}

/// LA's Psi on the query axis, shared by heads: `A_h = Psi_W T_h` for each `(N, Nk)` block of
/// `t` `(heads * N, Nk)`. Psi has no bias (MODEL.md).
func mixQueries(_ t: Matrix, psi: LinearWeights, heads: Int) -> Matrix {
    let (n, nk) = (psi.outFeatures, t.cols)
    precondition(t.rows == heads * n, "Psi over \(n) queries, scores have \(t.rows) rows")
    var a = Matrix(zeros: t.rows, nk)
    for h in 0..<heads {
        for i in 0..<n {
            for src in 0..<n {
                let weight = psi.weight.data[i * n + src]
                for j in 0..<nk { a.data[(h * n + i) * nk + j] += weight * t.data[(h * n + src) * nk + j] }
            }
        }
    }
    return a
}

/// AR, first half: the previous stage's stored scores `(h', N', Nk)` as Nk images of h' channels
/// over its query grid, through the depth-wise 2x2 stride-2 conv. Result `(h' * N, Nk)` on the
/// current stage's grid (both divisions floor, so it is exactly that grid).
func residualDepthwise(_ s: Matrix, previous: StageGeometry, current: StageGeometry, _ dw: ConvWeights) -> Matrix {
    let (hp, hq, wq, nk) = (previous.heads, previous.height, previous.width, s.cols)
    let (oh, ow) = (current.height, current.width)
    precondition(s.rows == hp * hq * wq && oh == hq / 2 && ow == wq / 2, "AR between mismatched stages")
    let n = oh * ow
    var out = Matrix(zeros: hp * n, nk)
    for c in 0..<hp {
        for y in 0..<oh {
            for x in 0..<ow {
                let cell = (c * n + y * ow + x) * nk
                for j in 0..<nk {
                    var sum: Float = 0
                    for ky in 0..<2 {
                        for kx in 0..<2 {
                            let source = (c * hq * wq + (2 * y + ky) * wq + (2 * x + kx)) * nk + j
                            sum += dw.weight.data[(c * 2 + ky) * 2 + kx] * s.data[source]
                        }
                    }
                    out.data[cell + j] = sum + dw.bias.data[c]
                }
            }
        }
    }
    return out
}

/// AR, second half: the 1x1 conv from h' to h channels, then channel i times `gamma[i]`.
/// `u` `(h' * N, Nk)`, result `(h * N, Nk)`.
func residualPointwise(_ u: Matrix, _ w: AttentionResidualWeights) -> Matrix {
    let (heads, hp) = (w.pw.outChannels, w.dw.outChannels)
    let cells = u.rows / hp * u.cols
    var out = Matrix(zeros: heads * u.rows / hp, u.cols)
    for o in 0..<heads {
        for cell in 0..<cells {
            var sum: Float = 0
            for c in 0..<hp { sum += w.pw.weight.data[o * hp + c] * u.data[c * cells + cell] }
            out.data[o * cells + cell] = (sum + w.pw.bias.data[o]) * w.gamma.data[o]
        }
    }
    return out
}
