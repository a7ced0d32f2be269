#if canImport(Glibc)
import Glibc
#endif

/// Integer logits to probabilities and the top labels, into caller-owned buffers. Display only:
/// the engine's decision is the integer argmax, which these never change (the softmax is
/// monotonic and ties go to the lower index, as argmax's do).
public enum Ranking {
    /// `softmax(logit * scale)`, max-subtracted so no `exp` overflows. A non-finite scale (a
    /// model file the loader should have refused) yields all-zero probabilities, never a trap.
    public static func softmax(logits: UnsafeBufferPointer<Int32>, scale: Double, into out: UnsafeMutableBufferPointer<Double>) {
        precondition(out.count == logits.count, "one probability per logit")
        guard let top = logits.max(), scale.isFinite else {
            for i in out.indices { out[i] = 0 }
            return
        }
        var sum = 0.0
        for i in logits.indices {
            let e = exp(Double(Int64(logits[i]) - Int64(top)) * scale)
            out[i] = e
            sum += e
        }
        guard sum > 0, sum.isFinite else {
            for i in out.indices { out[i] = 0 }
            return
        }
        for i in out.indices { out[i] /= sum }
    }

    /// The `k` largest of `values` (ties to the lower index), by repeated selection: k is small
    /// (a handful of labels), so this beats sorting and needs no scratch.
    public static func top(
        _ k: Int, of values: UnsafeBufferPointer<Double>,
        indices: UnsafeMutableBufferPointer<Int>, scores: UnsafeMutableBufferPointer<Double>
    ) -> Int {
        // Two-argument mins: the variadic form builds an array, an allocation per frame.
        let n = min(min(k, values.count), min(indices.count, scores.count))
        var previous = Double.infinity
        var previousIndex = -1
        var written = 0
        for rank in 0..<max(n, 0) {
            var best = -1
            for i in values.indices {
                let v = values[i]
                // Strictly after the previous pick in (value descending, index ascending) order.
                let after = v < previous || (v == previous && i > previousIndex)
                if after && (best < 0 || v > values[best]) { best = i }
            }
            // Only NaNs are left: they rank nowhere.
            if best < 0 { break }
            indices[rank] = best
            scores[rank] = values[best]
            previous = values[best]
            previousIndex = best
            written += 1
        }
        return written
    }
}
