/// One axis of the resize in `Preprocessor`: for an output index, the interval `[lo, lo + total)`
/// it reads, in units where a source sample is `unit` long, and the weights that follow.
/// Computed on the fly, so the resize needs no tables and no allocation.
struct ResizeAxis {
    let source: Int
    let target: Int
    /// Length of one source sample.
    let unit: Int
    /// Length of every output's interval: the sum of its weights.
    let total: Int

    init(source: Int, target: Int) {
        self.source = source
        self.target = target
        if source >= target {
            unit = target
            total = source
        } else {
            unit = 2 * target
            total = 2 * target
        }
    }

    struct Span {
        var lo: Int
        var first: Int
        var last: Int
    }

    @inline(__always)
    func span(_ i: Int) -> Span {
        let lo =
            source >= target
            ? i * source
            : min(max((2 * i + 1) * source - target, 0), (source - 1) * unit)
        return Span(lo: lo, first: lo / unit, last: (lo + total - 1) / unit)
    }

    /// How much of source sample `j` the span covers.
    @inline(__always)
    func weight(_ span: Span, _ j: Int) -> Int {
        min(span.lo + total, (j + 1) * unit) - max(span.lo, j * unit)
    }
}
