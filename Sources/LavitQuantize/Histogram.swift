/// A fine histogram of a sample keeping each bin's count, sum and sum of squares, so the squared
/// error of mapping all of a bin's values to one grid point `g` is exact:
/// `sum (x - g)^2 = sumSq - 2 g sum + n g^2`. Bins are 8x narrower than an int8 step over the full
/// range, so only the few bins that straddle a rounding boundary are approximated (by their mean).
struct Histogram {
    /// Non-empty bins only: the error sums below visit nothing else.
    var mean: [Double] = []
    var count: [Double] = []
    var sum: [Double] = []
    var sumSq: [Double] = []

    static let bins = 2048

    /// Values outside `[lo, hi]` go to the end bins (the sample lies inside the exact range).
    init(_ values: some Sequence<Float>, lo: Double, hi: Double) {
        let bins = Self.bins
        var (n, s, ss) = ([Double](repeating: 0, count: bins), [Double](repeating: 0, count: bins), [Double](repeating: 0, count: bins))
        let perUnit = hi > lo ? Double(bins) / (hi - lo) : 0
        for v in values {
            let x = Double(v)
            let b = max(0, min(bins - 1, Int((x - lo) * perUnit)))
            n[b] += 1
            s[b] += x
            ss[b] += x * x
        }
        for b in 0..<bins where n[b] > 0 {
            mean.append(s[b] / n[b])
            count.append(n[b])
            sum.append(s[b])
            sumSq.append(ss[b])
        }
    }

    /// Error of symmetric quantization of magnitudes (a histogram of |x|) with step `s`.
    func symmetricError(step s: Double) -> Double {
        var total = 0.0
        for i in mean.indices {
            let g = s * min(127, roundEven(mean[i] / s))
            total += sumSq[i] - 2 * g * sum[i] + count[i] * g * g
        }
        return total
    }

    /// Error of `Q8(s, z)` quantization.
    func asymmetricError(_ q: ActivationQuant) -> Double {
        let (s, z) = (q.scale, Double(q.zeroPoint))
        var total = 0.0
        for i in mean.indices {
            let g = s * (max(-128, min(127, roundEven(mean[i] / s) + z)) - z)
            total += sumSq[i] - 2 * g * sum[i] + count[i] * g * g
        }
        return total
    }
}
