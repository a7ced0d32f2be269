#if canImport(Glibc)
import Glibc
#endif
import LavitKernels
import LavitModel
import LavitModelFile

/// Runs QUANT.md's integer graph: uint8 pixels in, int32 logits out, no floating point.
///
/// The engine owns one activation arena (see `ArenaLayout`), allocated at init; `infer` without an
/// observer performs no heap allocation. It is a class without `Sendable`: one engine serves one
/// inference at a time, because every call writes the same arena and returns a view of it. Run
/// several engines (sharing one `Int8Model`) for parallel inference.
public final class Int8Engine {
    public let model: Int8Model
    public let kernels: Kernels
    private let arena: UnsafeMutableRawPointer
    private let buffers: Buffers

    public init(model: Int8Model, kernels: Kernels = .scalar) throws(Int8EngineError) {
        let layout = model.arena
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, ArenaLayout.alignment, layout.byteCount) == 0, let pointer else {
            throw Int8EngineError(source: model.modelFile.source, reason: .outOfMemory(byteCount: layout.byteCount))
        }
        self.model = model
        self.kernels = kernels
        arena = pointer
        buffers = Buffers(arena: pointer, layout: layout)
    }

    /// Checks and plans `modelFile` (see `Int8Model`) and allocates an engine for it.
    public convenience init(modelFile: ModelFile, kernels: Kernels = .scalar) throws(Int8EngineError) {
        try self.init(model: Int8Model(modelFile: modelFile), kernels: kernels)
    }

    deinit { free(arena) }

    /// Bytes of the activation arena.
    public var arenaByteCount: Int { model.arenaByteCount }

    /// Classifies `image`, uint8 HWC of the model's input size (`preprocess` says how to make one).
    /// The logits are valid until the next call on this engine.
    public func infer(image: UnsafeBufferPointer<UInt8>) throws(Int8EngineError) -> UnsafeBufferPointer<Int32> {
        try infer(image: image) { _ in }
    }

    /// As `infer(image:)`, calling `observe` at every tap of the graph (`TapPoint.Site`), in order.
    /// A tap's values view the arena and are only valid during the call.
    public func infer(
        image: UnsafeBufferPointer<UInt8>, observe: (Int8Tap) -> Void
    ) throws(Int8EngineError) -> UnsafeBufferPointer<Int32> {
        guard image.count == model.inputByteCount else {
            let c = model.config
            throw Int8EngineError(
                source: model.modelFile.source,
                reason: .imageSize(
                    count: image.count, expected: model.inputByteCount,
                    height: c.imageSize[0], width: c.imageSize[1], channels: c.inChans))
        }
        // Index loops, not `for stage in stages`: unspecialized (debug) iteration over arrays of
        // large structs allocates a coroutine frame per element.
        let stages = model.plan.stages
        var blockIndex = 0
        for m in 0..<stages.count {
            let stage = stages[m]
            embed(stage, image: image, observe)
            for i in 0..<stage.blocks.count {
                let current = blockIndex % 2 == 0 ? buffers.scoresEven : buffers.scoresOdd
                let previous = blockIndex % 2 == 0 ? buffers.scoresOdd : buffers.scoresEven
                run(stage.blocks[i], index: i, of: stage, scores: current, previousScores: previous, observe)
                blockIndex += 1
            }
        }
        head(observe)
        return UnsafeBufferPointer(buffers.logits)
    }

    /// `x = add2(layernorm(gemm(patchify(input))), pos)`.
    private func embed(_ stage: StagePlan, image: UnsafeBufferPointer<UInt8>, _ observe: (Int8Tap) -> Void) {
        let g = stage.geometry
        let (n, c, m) = (g.tokens, g.dim, g.index)
        let b = buffers
        if m == 0 {
            ScalarKernels.patchifyImage(
                image, height: stage.inputHeight, width: stage.inputWidth, channels: g.inChannels,
                kernel: g.embedKernel, into: b.patches)
        } else {
            ScalarKernels.patchify(
                view(b.residual, stage.inputHeight * stage.inputWidth * g.inChannels),
                height: stage.inputHeight, width: stage.inputWidth, channels: g.inChannels,
                kernel: g.embedKernel, into: b.patches)
        }
        gemm(b.patches, rows: n, stage.embed, into: b.tokensA)
        tap(observe, .embed, m, nil, b.tokensA, Int8TapShape(n, c))
        kernels.layerNorm(view(b.tokensA, n * c), n, stage.embedNorm, b.tokensB)
        tap(observe, .embedNorm, m, nil, b.tokensB, Int8TapShape(n, c))
        let x = prefix(b.residual, n * c)
        ScalarKernels.add2(view(b.tokensB, n * c), stage.position, stage.posAdd, into: x)
        tap(observe, .posAdd, m, nil, x, Int8TapShape(n, c))
    }

    /// One block of QUANT.md "Graph"; writes its scores S into `scores`, reads the previous
    /// block's from `previousScores`.
    private func run(
        _ block: BlockPlan, index i: Int, of stage: StagePlan, scores current: UnsafeMutableBufferPointer<Int8>,
        previousScores previous: UnsafeMutableBufferPointer<Int8>, _ observe: (Int8Tap) -> Void
    ) {
        let g = stage.geometry
        let (m, n, c, nk, h) = (g.index, g.tokens, g.dim, g.keys, g.heads)
        let b = buffers
        let tokens = Int8TapShape(n, c)
        let keyTokens = Int8TapShape(nk, c)
        let scoreShape = Int8TapShape(h, n, nk)
        let x = prefix(b.residual, n * c)
        let scores = prefix(current, h * n * nk)

        kernels.layerNorm(view(x), n, block.norm1, b.tokensA)
        tap(observe, .norm1, m, i, b.tokensA, tokens)
        var ur = b.tokensA
        if let reduction = block.reduction {
            ScalarKernels.patchify(
                view(b.tokensA, n * c), height: g.height, width: g.width, channels: c, kernel: g.srRatio,
                into: b.patches)
            gemm(b.patches, rows: nk, reduction.sr, into: b.reduced)
            tap(observe, .reduction, m, i, b.reduced, keyTokens)
            kernels.layerNorm(view(b.reduced, nk * c), nk, reduction.norm, b.reducedNorm)
            tap(observe, .reductionNorm, m, i, b.reducedNorm, keyTokens)
            ur = b.reducedNorm
        }

        switch block.mixing {
        case .vanilla(let q, let k, let v, let qk, let arAdd):
            gemm(b.tokensA, rows: n, q, into: b.tokensB)
            tap(observe, .q, m, i, b.tokensB, tokens)
            gemm(ur, rows: nk, k, into: b.keys)
            tap(observe, .k, m, i, b.keys, keyTokens)
            gemm(ur, rows: nk, v, into: b.values)
            tap(observe, .v, m, i, b.values, keyTokens)
            kernels.qk(view(b.tokensB, n * c), c, view(b.keys, nk * c), c, stage.attention, qk, scores)
            tap(observe, .qk, m, i, scores, scoreShape)
            if let arAdd, let residual = stage.residual {
                addResidual(residual, arAdd, stage: stage, block: i, previous: previous, into: scores, observe)
            }
        case .less(let v, let theta, let psi):
            gemm(ur, rows: nk, v, into: b.values)
            tap(observe, .v, m, i, b.values, keyTokens)
            // T = Theta(S) on rows (h N) x Nk; Psi acts on the query axis: per head (N, Nk) ->
            // (Nk, N), the GEMM on rows (h Nk) x N, and back to (h, N, Nk).
            gemm(previous, rows: h * n, theta, into: b.scratchA)
            tap(observe, .theta, m, i, b.scratchA, scoreShape)
            ScalarKernels.transpose(view(b.scratchA, h * n * nk), batches: h, rows: n, cols: nk, into: b.scratchB)
            gemm(b.scratchB, rows: h * nk, psi, into: b.scratchA)
            ScalarKernels.transpose(view(b.scratchA, h * nk * n), batches: h, rows: nk, cols: n, into: scores)
            tap(observe, .psi, m, i, scores, scoreShape)
        }
        tap(observe, .scores, m, i, scores, scoreShape)

        let probabilities = UnsafeMutableBufferPointer(rebasing: b.probabilities[0..<h * n * nk])
        kernels.softmax(view(scores), h * n, nk, block.softmax, probabilities)
        observe(Int8Tap(
            id: TapPoint(.probabilities, stage: m, block: i), shape: scoreShape,
            values: .int16(UnsafeBufferPointer(probabilities))))
        kernels.pv(UnsafeBufferPointer(probabilities), view(b.values, nk * c), c, stage.attention, block.pv, b.tokensA, c)
        tap(observe, .pv, m, i, b.tokensA, tokens)
        gemm(b.tokensA, rows: n, block.proj, into: b.tokensB)
        tap(observe, .attention, m, i, b.tokensB, tokens)
        ScalarKernels.add2(view(x), view(b.tokensB, n * c), block.add1, into: x)
        tap(observe, .add1, m, i, x, tokens)

        kernels.layerNorm(view(x), n, block.norm2, b.tokensA)
        tap(observe, .norm2, m, i, b.tokensA, tokens)
        gemm(b.tokensA, rows: n, block.fc1, into: b.hidden)
        tap(observe, .fc1, m, i, b.hidden, Int8TapShape(n, g.hidden))
        let hidden = prefix(b.hidden, n * g.hidden)
        ScalarKernels.gelu(view(hidden), table: block.gelu, into: hidden)
        tap(observe, .gelu, m, i, hidden, Int8TapShape(n, g.hidden))
        gemm(hidden, rows: n, block.fc2, into: b.tokensB)
        tap(observe, .fc2, m, i, b.tokensB, tokens)
        ScalarKernels.add2(view(x), view(b.tokensB, n * c), block.add2, into: x)
        tap(observe, .add2, m, i, x, tokens)
    }

    /// `A = add2(A, gemm pw (dwconv2 dw (S_{m-1})))`. The 1x1 conv mixes heads, so its GEMM runs on
    /// rows (N Nk) x h_{m-1}: the conv output is transposed to that layout and the result back.
    private func addResidual(
        _ residual: ResidualPlan, _ arAdd: Add2Parameters, stage: StagePlan, block i: Int,
        previous: UnsafeMutableBufferPointer<Int8>, into scores: UnsafeMutableBufferPointer<Int8>,
        _ observe: (Int8Tap) -> Void
    ) {
        let g = stage.geometry
        let p = residual.previous
        let (m, cells) = (g.index, g.tokens * g.keys)
        let b = buffers
        ScalarKernels.depthwiseConv2(
            view(previous, p.heads * p.tokens * p.keys), height: p.height, width: p.width, keys: g.keys,
            residual.dw, into: b.scratchA)
        tap(observe, .attentionResidualDW, m, nil, b.scratchA, Int8TapShape(p.heads, g.tokens, g.keys))
        ScalarKernels.transpose(view(b.scratchA, p.heads * cells), batches: 1, rows: p.heads, cols: cells, into: b.scratchB)
        gemm(b.scratchB, rows: cells, residual.pw, into: b.scratchA)
        ScalarKernels.transpose(view(b.scratchA, cells * g.heads), batches: 1, rows: cells, cols: g.heads, into: b.scratchB)
        tap(observe, .attentionResidual, m, nil, b.scratchB, Int8TapShape(g.heads, g.tokens, g.keys))
        ScalarKernels.add2(view(scores), view(b.scratchB, scores.count), arAdd, into: scores)
        tap(observe, .arAdd, m, i, scores, Int8TapShape(g.heads, g.tokens, g.keys))
    }

    /// `logits = gemm32 head (meanpool pool (layernorm norm (x)))`.
    private func head(_ observe: (Int8Tap) -> Void) {
        let g = model.stages[model.stages.count - 1]
        let plan = model.plan.head
        let (n, c) = (g.tokens, g.dim)
        let b = buffers
        kernels.layerNorm(view(b.residual, n * c), n, plan.norm, b.tokensA)
        tap(observe, .finalNorm, nil, nil, b.tokensA, Int8TapShape(n, c))
        ScalarKernels.meanPool(view(b.tokensA, n * c), rows: n, plan.pool, into: b.pooled)
        tap(observe, .pooled, nil, nil, b.pooled, Int8TapShape(c))
        ScalarKernels.gemm32(view(b.pooled), rows: 1, stride: c, plan.head, into: b.logits, stride: plan.head.outputs)
        observe(Int8Tap(
            id: TapPoint(.logits), shape: Int8TapShape(plan.head.outputs), values: .int32(UnsafeBufferPointer(b.logits))))
    }

    /// A GEMM over contiguous rows of `p.depth`, writing contiguous rows of `p.outputs`.
    @inline(__always)
    private func gemm(
        _ x: UnsafeMutableBufferPointer<Int8>, rows: Int, _ p: GemmParameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        kernels.gemm(view(x, rows * p.depth), rows, p.depth, p, y, p.outputs)
    }

    @inline(__always)
    private func tap(
        _ observe: (Int8Tap) -> Void, _ site: TapPoint.Site, _ stage: Int?, _ block: Int?,
        _ values: UnsafeMutableBufferPointer<Int8>, _ shape: Int8TapShape
    ) {
        observe(Int8Tap(
            id: TapPoint(site, stage: stage, block: block), shape: shape,
            values: .int8(view(values, shape.elementCount))))
    }
}

@inline(__always)
private func view<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ count: Int? = nil) -> UnsafeBufferPointer<T> {
    UnsafeBufferPointer(rebasing: buffer[0..<(count ?? buffer.count)])
}

@inline(__always)
private func prefix<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ count: Int) -> UnsafeMutableBufferPointer<T> {
    UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
}

/// The arena's regions as typed buffers (see `ArenaLayout`).
private struct Buffers {
    let residual, patches, tokensA, tokensB, reduced, reducedNorm, keys, values, hidden: UnsafeMutableBufferPointer<Int8>
    let scoresEven, scoresOdd, scratchA, scratchB, pooled: UnsafeMutableBufferPointer<Int8>
    let probabilities: UnsafeMutableBufferPointer<Int16>
    let logits: UnsafeMutableBufferPointer<Int32>

    init(arena: UnsafeMutableRawPointer, layout: ArenaLayout) {
        func region<T>(_ r: ArenaLayout.Region, _ type: T.Type = T.self) -> UnsafeMutableBufferPointer<T> {
            let count = layout.count(r)
            return UnsafeMutableBufferPointer(
                start: (arena + layout.offset(r)).bindMemory(to: T.self, capacity: count), count: count)
        }
        residual = region(.residual)
        patches = region(.patches)
        tokensA = region(.tokensA)
        tokensB = region(.tokensB)
        reduced = region(.reduced)
        reducedNorm = region(.reducedNorm)
        keys = region(.keys)
        values = region(.values)
        hidden = region(.hidden)
        scoresEven = region(.scoresEven)
        scoresOdd = region(.scoresOdd)
        scratchA = region(.scratchA)
        scratchB = region(.scratchB)
        pooled = region(.pooled)
        probabilities = region(.probabilities)
        logits = region(.logits)
    }
}
