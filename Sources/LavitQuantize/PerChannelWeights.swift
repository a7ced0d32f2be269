/// Weights as int8, symmetric per output channel: `s_w[o] = max|w[o]| / 127`, `q = round(w / s_w)`
/// in [-127, 127]. Weights are exact values with no outliers worth clipping, so the plain maximum
/// wins here (unlike activations, see `RangeSearch`).
struct PerChannelWeights {
    var q: [Int8]
    var scales: [Double]

    /// `weight` is `(outputs, k)` row-major; `zeroRowScale(o)` is the scale for an all-zero row,
    /// where any scale is exact.
    init(_ weight: [Double], outputs: Int, zeroRowScale: (Int) -> Double) {
        let k = weight.count / outputs
        q = []
        q.reserveCapacity(weight.count)
        scales = []
        for o in 0..<outputs {
            let row = weight[(o * k)..<(o * k + k)]
            let top = row.reduce(0) { max($0, abs($1)) }
            let s = top > 0 ? top / 127 : zeroRowScale(o)
            scales.append(s)
            q += row.map { Int8(max(-127, min(127, roundEven($0 / s)))) }
        }
    }
}
