import Glibc
import LavitModel

/// PyTorch's LayerNorm over each row: mean, biased variance, `1 / sqrt(var + eps)`; statistics
/// in Double so the only rounding left is Float's.
func layerNorm(_ x: Matrix, _ w: LayerNormWeights, eps: Double) -> Matrix {
    let c = x.cols
    var y = x
    for r in 0..<x.rows {
        let row = x.data[(r * c)..<(r * c + c)]
        let mean = row.reduce(0.0) { $0 + Double($1) } / Double(c)
        let variance = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(c)
        let rstd = 1 / (variance + eps).squareRoot()
        for j in 0..<c {
            let normalised = (Double(x.data[r * c + j]) - mean) * rstd
            y.data[r * c + j] = Float(normalised) * w.weight.data[j] + w.bias.data[j]
        }
    }
    return y
}

/// The exact erf GELU (PyTorch's default, not the tanh approximation).
func gelu(_ x: Matrix) -> Matrix {
    var y = x
    for i in y.data.indices {
        let v = Double(y.data[i])
        y.data[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    }
    return y
}

/// Softmax along each row, max-subtracted so large scores cannot overflow `exp`.
func softmaxRows(_ x: Matrix) -> Matrix {
    var y = x
    let c = x.cols
    for r in 0..<x.rows {
        let row = x.data[(r * c)..<(r * c + c)]
        let top = row.max() ?? 0
        let exps = row.map { exp(Double($0 - top)) }
        let total = exps.reduce(0, +)
        for (j, e) in exps.enumerated() { y.data[r * c + j] = Float(e / total) }
    }
    return y
}

/// The mean of each column over all rows (the token mean pool).
func meanRows(_ x: Matrix) -> Matrix {
    var sums = [Double](repeating: 0, count: x.cols)
    for r in 0..<x.rows {
        for j in 0..<x.cols { sums[j] += Double(x.data[r * x.cols + j]) }
    }
    return Matrix(rows: 1, cols: x.cols, data: sums.map { Float($0 / Double(x.rows)) })
}
