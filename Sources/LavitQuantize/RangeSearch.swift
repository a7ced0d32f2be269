/// Activation ranges that minimise quantization error rather than covering the extremes: the
/// exact min and max of a tap are often a few outliers, and a clip below them buys finer steps for
/// everything else. The same squared error also refuses to clip when the tail carries real mass
/// (a uniform sample keeps its full range).
///
/// Method: build a `Histogram` of the calibration sample over the exact observed range, then
/// evaluate the squared error of quantize-dequantize for candidate ranges and keep the best (ties
/// go to the wider range).
/// - Symmetric taps: clip `c = f * max|x|` for 100 fractions `f` evenly in [0.2, 1]; `s = c / 127`.
/// - Asymmetric taps: `[f_lo * min, f_hi * max]` (widened to contain 0) with `f` over 41 fractions
///   evenly in [0.2, 1], searched one end at a time (the upper end, then the lower, twice over)
///   rather than on the full 41 x 41 grid: the two ends barely interact, and this is 10x
///   cheaper. `s = (hi - lo) / 255`, `z = round(-128 - lo / s)`.
/// A tap whose range is empty (all zeros) gets scale 1/127 (or [0, 1]): any scale is exact there.
public enum RangeSearch {
    static let symmetricFractions = (0..<100).map { 0.2 + 0.8 * Double($0) / 99 }
    static let asymmetricFractions = (0..<41).map { 0.2 + 0.8 * Double($0) / 40 }

    public static func symmetric(_ stats: TapStatistics) -> ActivationQuant {
        let top = Double(stats.maxAbs)
        guard top > 0 else { return .symmetric(clip: 1) }
        let histogram = Histogram(stats.sample.lazy.map { abs($0) }, lo: 0, hi: top)
        var best = (error: Double.infinity, clip: top)
        for f in symmetricFractions.reversed() {
            let c = f * top
            let error = histogram.symmetricError(step: c / 127)
            if error < best.error { best = (error, c) }
        }
        return .symmetric(clip: best.clip)
    }

    public static func asymmetric(_ stats: TapStatistics) -> ActivationQuant {
        let (lo, hi) = (min(Double(stats.min), 0), max(Double(stats.max), 0))
        guard hi > lo else { return .asymmetric(lo: 0, hi: 1) }
        let histogram = Histogram(stats.sample, lo: lo, hi: hi)
        var (fl, fh) = (1.0, 1.0)
        var best = histogram.asymmetricError(.asymmetric(lo: lo, hi: hi))
        for _ in 0..<2 {
            for f in asymmetricFractions.reversed() {
                let error = histogram.asymmetricError(.asymmetric(lo: fl * lo, hi: f * hi))
                if error < best { (best, fh) = (error, f) }
            }
            guard lo < 0 else { break }
            for f in asymmetricFractions.reversed() {
                let error = histogram.asymmetricError(.asymmetric(lo: f * lo, hi: fh * hi))
                if error < best { (best, fl) = (error, f) }
            }
        }
        return .asymmetric(lo: fl * lo, hi: fh * hi)
    }
}
