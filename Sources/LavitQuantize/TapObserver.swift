/// One image's pass over one tap: exact range and finiteness in a single SIMD sweep, plus
/// `quota` values drawn uniformly (with replacement) when the tap holds more than that.
enum TapObserver {
    static func observe(_ data: [Float], quota: Int, rng: inout SplitMix64) -> TapStatistics {
        let n = data.count
        return data.withUnsafeBufferPointer { buf -> TapStatistics in
            guard let base = buf.baseAddress, n > 0 else {
                return TapStatistics(min: .infinity, max: -.infinity, count: 0, sample: [])
            }
            var lo = SIMD8<Float>(repeating: .infinity)
            var hi = SIMD8<Float>(repeating: -.infinity)
            // `v * 0` is 0 for finite v and NaN for NaN or infinity, so one sum flags both.
            var poison = SIMD8<Float>()
            var i = 0
            while i + 8 <= n {
                let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                lo = pointwiseMin(lo, v)
                hi = pointwiseMax(hi, v)
                poison += v * 0
                i += 8
            }
            var (mn, mx, bad) = (lo.min(), hi.max(), poison.sum())
            while i < n {
                let v = base[i]
                mn = Swift.min(mn, v)
                mx = Swift.max(mx, v)
                bad += v * 0
                i += 1
            }
            let sample: [Float]
            if n <= quota {
                sample = Array(buf)
            } else {
                sample = (0..<quota).map { _ in base[rng.next(below: n)] }
            }
            return TapStatistics(min: mn, max: mx, count: n, sample: sample, finite: bad == 0 && mn <= mx)
        }
    }
}
