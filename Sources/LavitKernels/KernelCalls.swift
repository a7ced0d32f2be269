import CLavitKernels

/// The heavy kernels as the engine calls them: each on a share of the work (a range of rows, of
/// output channels, or one head's rows), so a pool of threads can split a layer. The scalar
/// reference computes a share as a smaller problem of its own; a SIMD variant calls C with the
/// prepared weights. Either way every output is computed the same way whatever the split.
extension Kernels {
    /// Rows of `x` (row `n` at `n * xStride`) times `p`, output channels `outputs` only (starting
    /// on `outputBlock`), into `y` (row `n` at `n * yStride`, channel `o` at `o`). `scratch`: this
    /// thread's `scratchByteCount(depth: p.depth)` bytes.
    public func gemm(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, stride xStride: Int, _ p: GemmParameters, outputs: Range<Int>,
        into y: UnsafeMutableBufferPointer<Int8>, stride yStride: Int, scratch: UnsafeMutableRawPointer?
    ) {
        precondition(rows >= 1 && !outputs.isEmpty && outputs.lowerBound >= 0 && outputs.upperBound <= p.outputs, "gemm share out of range")
        precondition(outputs.lowerBound % outputBlock == 0, "gemm share starts inside a block")
        precondition(xStride >= p.depth && yStride >= p.outputs, "gemm strides too small")
        precondition(x.count >= (rows - 1) * xStride + p.depth && y.count >= (rows - 1) * yStride + p.outputs, "gemm buffers too short")
        if self == .scalar {
            let whole = outputs == 0..<p.outputs
            ScalarKernels.gemm(
                x, rows: rows, stride: xStride, whole ? p : p.outputs(outputs),
                into: UnsafeMutableBufferPointer(rebasing: y[outputs.lowerBound...]), stride: yStride)
            return
        }
        guard var plan = p.prepared?.plan, plan.variant == variantID else {
            preconditionFailure("gemm weights not prepared for \(self)")
        }
        lavit_gemm(
            x.baseAddress, rows, xStride, &plan, outputs.lowerBound, outputs.upperBound, y.baseAddress, yStride, scratch)
    }

    /// Bytes of one head's laid-out keys or values (`packKeys`, `packValues`) for `shape`.
    public func packedHeadByteCount(_ shape: AttentionShape) -> Int {
        if self == .scalar { return 0 }
        let keys = lavit_prepare_bytes(variantID, shape.keys, shape.headDim)
        let values = lavit_prepare16_bytes(variantID, shape.headDim, shape.keys)
        return Self.planSlot + max(keys, values)
    }

    /// Lays out head `h`'s keys (`k` row `j` at `j * kStride`, the head's channels at `h d`) as the
    /// weights of qk's GEMM, in `packed + h * packedHeadByteCount(shape)`. Nothing for the scalar
    /// reference, which reads `k` in place.
    public func packKeys(
        _ k: UnsafeBufferPointer<Int8>, stride kStride: Int, _ shape: AttentionShape, _ r: Requantization, head h: Int,
        into packed: UnsafeMutableRawPointer?
    ) {
        guard self != .scalar, let packed else { return }
        precondition(kStride >= shape.heads * shape.headDim && k.count >= (shape.keys - 1) * kStride + shape.heads * shape.headDim, "qk keys too short")
        let (slot, storage) = headSlot(packed, shape, h)
        lavit_prepare(variantID, k.baseAddress! + h * shape.headDim, kStride, shape.keys, shape.headDim, nil, nil, nil, storage, slot)
        slot.pointee.multiplier_uniform = r.multiplier
        slot.pointee.shift_uniform = r.shift
    }

    /// QUANT.md kernel 5 for head `h`, query rows `rows`: `A[h, n, j]` for `n` in `rows`.
    public func qk(
        q: UnsafeBufferPointer<Int8>, stride qStride: Int, k: UnsafeBufferPointer<Int8>, stride kStride: Int,
        _ shape: AttentionShape, _ r: Requantization, head h: Int, rows: Range<Int>, packed: UnsafeMutableRawPointer?,
        into a: UnsafeMutableBufferPointer<Int8>, scratch: UnsafeMutableRawPointer?
    ) {
        let (d, width) = (shape.headDim, shape.heads * shape.headDim)
        precondition(h >= 0 && h < shape.heads && rows.lowerBound >= 0 && rows.upperBound <= shape.tokens && !rows.isEmpty, "qk share out of range")
        precondition(qStride >= width && q.count >= (shape.tokens - 1) * qStride + width && a.count >= shape.scoreCount, "qk buffers too short")
        let qStart = rows.lowerBound * qStride + h * d
        let aStart = (h * shape.tokens + rows.lowerBound) * shape.keys
        if self == .scalar {
            ScalarKernels.qk(
                q: UnsafeBufferPointer(rebasing: q[qStart...]), stride: qStride,
                k: UnsafeBufferPointer(rebasing: k[(h * d)...]), stride: kStride,
                AttentionShape(heads: 1, headDim: d, tokens: rows.count, keys: shape.keys), r,
                into: UnsafeMutableBufferPointer(rebasing: a[aStart...]))
            return
        }
        let (slot, _) = headSlot(packed!, shape, h)
        lavit_gemm(q.baseAddress! + qStart, rows.count, qStride, slot, 0, shape.keys, a.baseAddress! + aStart, shape.keys, scratch)
    }

    /// Lays out head `h`'s values (`v` row `j` at `j * vStride`) as the int16 weights of pv's GEMM.
    public func packValues(
        _ v: UnsafeBufferPointer<Int8>, stride vStride: Int, _ shape: AttentionShape, _ r: Requantization, head h: Int,
        into packed: UnsafeMutableRawPointer?
    ) {
        guard self != .scalar, let packed else { return }
        precondition(vStride >= shape.heads * shape.headDim && v.count >= (shape.keys - 1) * vStride + shape.heads * shape.headDim, "pv values too short")
        let (slot, storage) = headSlot(packed, shape, h)
        lavit_prepare16_transposed(variantID, v.baseAddress! + h * shape.headDim, vStride, shape.headDim, shape.keys, storage, slot)
        slot.pointee.multiplier_uniform = r.multiplier
        slot.pointee.shift_uniform = r.shift
    }

    /// QUANT.md kernel 7 for head `h`, query rows `rows`: `o[n, h d + t]` for `n` in `rows`.
    public func pv(
        p: UnsafeBufferPointer<Int16>, v: UnsafeBufferPointer<Int8>, stride vStride: Int, _ shape: AttentionShape,
        _ r: Requantization, head h: Int, rows: Range<Int>, packed: UnsafeMutableRawPointer?,
        into o: UnsafeMutableBufferPointer<Int8>, stride oStride: Int, scratch: UnsafeMutableRawPointer?
    ) {
        let (d, width) = (shape.headDim, shape.heads * shape.headDim)
        precondition(h >= 0 && h < shape.heads && rows.lowerBound >= 0 && rows.upperBound <= shape.tokens && !rows.isEmpty, "pv share out of range")
        precondition(oStride >= width && o.count >= (shape.tokens - 1) * oStride + width && p.count >= shape.scoreCount, "pv buffers too short")
        let pStart = (h * shape.tokens + rows.lowerBound) * shape.keys
        let oStart = rows.lowerBound * oStride + h * d
        if self == .scalar {
            ScalarKernels.pv(
                p: UnsafeBufferPointer(rebasing: p[pStart...]), v: UnsafeBufferPointer(rebasing: v[(h * d)...]), stride: vStride,
                AttentionShape(heads: 1, headDim: d, tokens: rows.count, keys: shape.keys), r,
                into: UnsafeMutableBufferPointer(rebasing: o[oStart...]), stride: oStride)
            return
        }
        let (slot, _) = headSlot(packed!, shape, h)
        lavit_gemm16(p.baseAddress! + pStart, rows.count, shape.keys, slot, 0, d, o.baseAddress! + oStart, oStride, scratch)
    }

    /// Room for the C plan ahead of each head's laid-out operand, keeping that aligned.
    static let planSlot = 128

    private func headSlot(
        _ packed: UnsafeMutableRawPointer, _ shape: AttentionShape, _ h: Int
    ) -> (UnsafeMutablePointer<lavit_gemm_plan>, UnsafeMutableRawPointer) {
        precondition(MemoryLayout<lavit_gemm_plan>.size <= Self.planSlot)
        let base = packed + h * packedHeadByteCount(shape)
        return (base.bindMemory(to: lavit_gemm_plan.self, capacity: 1), base + Self.planSlot)
    }
}

/// The row-wise kernels (layernorm, softmax, add2, gelu): the scalar reference, or the C body
/// compiled for the variant's ISA.
extension Kernels {
    /// `y` must not overlap `x` (the scalar reference would allow it; the C body does not).
    public func layerNorm(
        _ x: UnsafeBufferPointer<Int8>, rows: Int, _ p: LayerNormParameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        if self == .scalar { return ScalarKernels.layerNorm(x, rows: rows, p, into: y) }
        let c = p.channels
        precondition(x.count >= rows * c && y.count >= rows * c, "layernorm buffers too short")
        var params = lavit_layernorm_params(
            gain: p.gain.baseAddress, bias: p.bias.baseAddress, zero_in: p.zeroIn, epsilon: p.epsilon, shift: p.shift,
            zero_out: p.zeroOut, channels: c)
        lavit_layernorm(variantID, &params, x.baseAddress, rows, y.baseAddress)
    }

    public func softmax(
        _ a: UnsafeBufferPointer<Int8>, rows: Int, cols: Int, exp: UnsafeBufferPointer<Int32>,
        into p: UnsafeMutableBufferPointer<Int16>
    ) {
        if self == .scalar { return ScalarKernels.softmax(a, rows: rows, cols: cols, exp: exp, into: p) }
        precondition(exp.count == 256, "softmax table has \(exp.count) entries, expected 256")
        precondition(cols >= 1 && a.count >= rows * cols && p.count >= rows * cols, "softmax buffers too short")
        lavit_softmax(variantID, a.baseAddress, rows, cols, exp.baseAddress, p.baseAddress)
    }

    public func add2(
        _ a: UnsafeBufferPointer<Int8>, _ b: UnsafeBufferPointer<Int8>, _ p: Add2Parameters,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        if self == .scalar { return ScalarKernels.add2(a, b, p, into: y) }
        precondition(a.count >= y.count && b.count >= y.count, "add2 inputs too short")
        var params = lavit_add2_params(
            zero_a: p.zeroA, zero_b: p.zeroB, zero_out: p.zeroOut, multiplier_a: p.multiplierA,
            multiplier_b: p.multiplierB, shift: p.shift)
        lavit_add2(variantID, &params, a.baseAddress, b.baseAddress, y.count, y.baseAddress)
    }
}

extension Kernels {
    public func gelu(_ x: UnsafeBufferPointer<Int8>, table: UnsafeBufferPointer<Int8>, into y: UnsafeMutableBufferPointer<Int8>) {
        if self == .scalar { return ScalarKernels.gelu(x, table: table, into: y) }
        precondition(table.count == 256, "gelu table has \(table.count) entries, expected 256")
        precondition(x.count >= y.count, "gelu input too short")
        lavit_lookup(variantID, x.baseAddress, table.baseAddress, y.count, y.baseAddress)
    }
}

extension Kernels {
    /// The attention residual's 1x1 conv over heads on score maps laid out heads first: `x` is
    /// (p.depth, count) and `y` (p.outputs, count), cells `cells` only. The same numbers as the
    /// scalar reference's GEMM on the transposed maps, without the transposes. SIMD variants only:
    /// the scalar reference is that GEMM.
    public func mixHeads(
        _ x: UnsafeBufferPointer<Int8>, count: Int, _ p: GemmParameters, cells: Range<Int>,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        precondition(self != .scalar, "the scalar reference mixes heads with transposes and its GEMM")
        precondition(cells.lowerBound >= 0 && cells.upperBound <= count && !cells.isEmpty, "mix share out of range")
        precondition(x.count >= p.depth * count && y.count >= p.outputs * count, "mix buffers too short")
        var params = lavit_mix_params(
            weights: p.weights.baseAddress, bias: p.bias.baseAddress, multiplier: p.multiplier.baseAddress,
            shift: p.shift.baseAddress, zero_point: Int32(p.zeroPoint), inputs: p.depth, outputs: p.outputs)
        lavit_mix_heads(
            variantID, &params, x.baseAddress! + cells.lowerBound, count, cells.count, y.baseAddress! + cells.lowerBound, count)
    }
}

/// QUANT.md kernel 2 in the column order the variant's patch GEMMs were prepared for: the
/// reference's (c, ky, kx), or for SIMD variants (ky, kx, c), where each patch is `k` runs of
/// `k * channels` contiguous bytes copied whole.
extension Kernels {
    public func patchify(
        _ x: UnsafeBufferPointer<Int8>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        if self == .scalar { return ScalarKernels.patchify(x, height: height, width: width, channels: channels, kernel: k, into: y) }
        copyPatches(x, height: height, width: width, channels: channels, kernel: k, into: y) { from, to, count in
            to.update(from: from, count: count)
        }
    }

    /// The stem's patchify: uint8 image in, `u - 128` out.
    public func patchifyImage(
        _ image: UnsafeBufferPointer<UInt8>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        if self == .scalar {
            return ScalarKernels.patchifyImage(image, height: height, width: width, channels: channels, kernel: k, into: y)
        }
        copyPatches(image, height: height, width: width, channels: channels, kernel: k, into: y) { from, to, count in
            for i in 0..<count { to[i] = Int8(bitPattern: from[i] ^ 0x80) }
        }
    }

    @inline(__always)
    private func copyPatches<T>(
        _ x: UnsafeBufferPointer<T>, height: Int, width: Int, channels: Int, kernel k: Int,
        into y: UnsafeMutableBufferPointer<Int8>, _ copy: (UnsafePointer<T>, UnsafeMutablePointer<Int8>, Int) -> Void
    ) {
        precondition(k >= 1 && height >= k && width >= k && channels >= 1, "patchify of an empty grid")
        precondition(x.count == height * width * channels, "patchify input is \(x.count), expected \(height)x\(width)x\(channels)")
        let (ph, pw, run) = (height / k, width / k, k * channels)
        precondition(y.count >= ph * pw * k * run, "patchify output too short")
        let (source, target) = (x.baseAddress!, y.baseAddress!)
        for py in 0..<ph {
            for px in 0..<pw {
                let out = (py * pw + px) * k * run
                for ky in 0..<k {
                    copy(source + ((py * k + ky) * width + px * k) * channels, target + out + ky * run, run)
                }
            }
        }
    }
}

extension Kernels {
    /// QUANT.md kernel 9 for channel `channel`, output rows `rows` (of `height / 2`), so threads can
    /// split it. The scalar reference computes the same share as a smaller conv of its own.
    public func depthwiseConv2(
        _ s: UnsafeBufferPointer<Int8>, height: Int, width: Int, keys: Int, _ p: DepthwiseConv2Parameters, channel c: Int,
        rows: Range<Int>, into u: UnsafeMutableBufferPointer<Int8>
    ) {
        let (inCells, outCells) = (height * width, (height / 2) * (width / 2))
        precondition(outCells >= 1 && keys >= 1 && c >= 0 && c < p.channels, "depthwise conv share out of range")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height / 2 && !rows.isEmpty, "depthwise conv rows out of range")
        precondition(s.count >= p.channels * inCells * keys && u.count >= p.channels * outCells * keys, "depthwise conv buffers too short")
        if self == .scalar {
            let one = DepthwiseConv2Parameters(
                weights: UnsafeBufferPointer(rebasing: p.weights[c * 4..<c * 4 + 4]), bias: UnsafeBufferPointer(rebasing: p.bias[c...c]),
                multiplier: UnsafeBufferPointer(rebasing: p.multiplier[c...c]), shift: UnsafeBufferPointer(rebasing: p.shift[c...c]),
                zeroPoint: p.zeroPoint)
            let inStart = (c * inCells + 2 * rows.lowerBound * width) * keys
            let outStart = (c * outCells + rows.lowerBound * (width / 2)) * keys
            return ScalarKernels.depthwiseConv2(
                UnsafeBufferPointer(rebasing: s[inStart..<inStart + 2 * rows.count * width * keys]), height: 2 * rows.count, width: width,
                keys: keys, one, into: UnsafeMutableBufferPointer(rebasing: u[outStart..<outStart + rows.count * (width / 2) * keys]))
        }
        var params = lavit_dwconv_params(
            weights: p.weights.baseAddress, bias: p.bias.baseAddress, multiplier: p.multiplier.baseAddress, shift: p.shift.baseAddress,
            zero_point: p.zeroPoint, height: height, width: width, keys: keys)
        lavit_dwconv2(variantID, &params, s.baseAddress, c, rows.lowerBound, rows.upperBound, u.baseAddress)
    }
}
