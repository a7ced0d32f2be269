/// A weight GEMM's parameters (QUANT.md kernel 1): `.w` int8 [outputs, depth], and per output
/// channel the fused int32 bias and the requantization multiplier and shift; `zeroPoint` is
/// `z_out` (unused by `gemm32`).
public struct GemmParameters {
    public var weights: UnsafeBufferPointer<Int8>
    public var bias: UnsafeBufferPointer<Int32>
    public var multiplier: UnsafeBufferPointer<Int32>
    public var shift: UnsafeBufferPointer<Int32>
    public var zeroPoint: Int64
    public var outputs: Int
    public var depth: Int
    /// The weights laid out for a SIMD variant, once a model prepared them (`Kernels.prepare`).
    public var prepared: PreparedGemm?

    public init(
        weights: UnsafeBufferPointer<Int8>, bias: UnsafeBufferPointer<Int32>,
        multiplier: UnsafeBufferPointer<Int32>, shift: UnsafeBufferPointer<Int32>,
        zeroPoint: Int64, outputs: Int, depth: Int
    ) {
        precondition(weights.count == outputs * depth, "gemm weights hold \(weights.count), expected \(outputs) x \(depth)")
        precondition(bias.count == outputs && multiplier.count == outputs && shift.count == outputs)
        self.weights = weights
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.zeroPoint = zeroPoint
        self.outputs = outputs
        self.depth = depth
    }

    /// The output channels `range` as a GEMM of their own (e.g. the k and v halves of `kv`), in the
    /// file's layout: a prepared slice would need its own layout.
    public func outputs(_ range: Range<Int>) -> GemmParameters {
        GemmParameters(
            weights: UnsafeBufferPointer(rebasing: weights[range.lowerBound * depth..<range.upperBound * depth]),
            bias: UnsafeBufferPointer(rebasing: bias[range]),
            multiplier: UnsafeBufferPointer(rebasing: multiplier[range]),
            shift: UnsafeBufferPointer(rebasing: shift[range]),
            zeroPoint: zeroPoint, outputs: range.count, depth: depth)
    }
}

extension ScalarKernels {
    /// `y[n, o] = sat8(z_out + RS((sum_k w[o, k] * x[n, k] + b[o]) * m[o], s[o]))` for `rows` rows
    /// of `x` (row `n` at `n * xStride`), row `n` of `y` at `n * yStride`.
    public static func gemm(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, stride xStride: Int, _ p: GemmParameters,
        into y: UnsafeMutableBufferPointer<Int8>, stride yStride: Int
    ) {
        checkGemm(x.count, rows, xStride, p, y.count, yStride)
        for n in 0..<rows {
            for o in 0..<p.outputs {
                let acc = accumulate(x, n * xStride, p, o)
                y[n * yStride + o] = requantize(
                    acc, multiplier: Int64(p.multiplier[o]), shift: Int64(p.shift[o]), zeroPoint: p.zeroPoint)
            }
        }
    }

    /// The head's GEMM: `y[n, o] = sat32(RS(acc * m[o], s[o]))`, no zero point; int32 logits.
    public static func gemm32(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, stride xStride: Int, _ p: GemmParameters,
        into y: UnsafeMutableBufferPointer<Int32>, stride yStride: Int
    ) {
        checkGemm(x.count, rows, xStride, p, y.count, yStride)
        for n in 0..<rows {
            for o in 0..<p.outputs {
                let acc = accumulate(x, n * xStride, p, o)
                y[n * yStride + o] = sat32(roundingShift(acc * Int64(p.multiplier[o]), Int64(p.shift[o])))
            }
        }
    }

    /// `sum_k w[o, k] * x[start + k] + b[o]`.
    @inline(__always)
    static func accumulate(_ x: UnsafeBufferPointer<Int8>, _ start: Int, _ p: GemmParameters, _ o: Int) -> Int64 {
        Int64(p.bias[o]) + dot(
            UnsafeBufferPointer(rebasing: p.weights[o * p.depth..<(o + 1) * p.depth]),
            UnsafeBufferPointer(rebasing: x[start..<start + p.depth]))
    }

    private static func checkGemm(_ xCount: Int, _ rows: Int, _ xStride: Int, _ p: GemmParameters, _ yCount: Int, _ yStride: Int) {
        precondition(rows >= 1 && xStride >= p.depth && yStride >= p.outputs, "gemm strides too small")
        precondition(xCount >= (rows - 1) * xStride + p.depth, "gemm input too short")
        precondition(yCount >= (rows - 1) * yStride + p.outputs, "gemm output too short")
    }
}

/// `sum_i a[i] b[i]` of int8 codes, exact. Each product is at most 2^14 in magnitude, so a run of
/// 2^16 of them sums to at most 2^30 and fits an Int32; runs are then added in Int64. Debug builds
/// keep Swift's overflow checks; release builds use the wrapping operators, equal on these values,
/// which the compiler turns into multiply-add vector instructions.
@inline(__always)
func dot(_ a: UnsafeBufferPointer<Int8>, _ b: UnsafeBufferPointer<Int8>) -> Int64 {
    assert(a.count == b.count)
    var total: Int64 = 0
    var start = 0
    while start < a.count {
        let end = min(a.count, start + (1 << 16))
        var run: Int32 = 0
        #if DEBUG
        for i in start..<end { run += Int32(a[i]) * Int32(b[i]) }
        #else
        for i in start..<end { run &+= Int32(a[i]) &* Int32(b[i]) }
        #endif
        total += Int64(run)
        start = end
    }
    return total
}
