#if canImport(Glibc)
import Glibc
#endif
import LavitKernels
import LavitModel
import LavitModelFile
import LavitSystem
import LavitWorkers

/// Runs QUANT.md's integer graph: uint8 pixels in, int32 logits out, no floating point.
///
/// The engine owns one activation arena (see `ArenaLayout`), allocated at init, and a pool of
/// `threads` threads started at init that split each heavy layer; `infer` without an observer
/// performs no heap allocation, and gives the same result for any thread count. It is a class
/// without `Sendable`: one engine serves one inference at a time, because every call writes the
/// same arena and returns a view of it. Run several engines (sharing one `Int8Model`) for
/// parallel inference.
public final class Int8Engine {
    public let model: Int8Model
    private let arena: UnsafeMutableRawPointer
    private let layout: ArenaLayout
    private let buffers: Buffers
    private let pool: WorkerPool
    /// The layer the pool is splitting (see `split`), and into how many shares.
    private var work = Work.none
    private var shares = 1
    private let parallelWork: Int
    /// Whether any layer has been split: a model whose layers all stay on one thread (the shipped
    /// one) does not keep the workers spinning through its frames.
    private var splitsLayers = false

    /// `parallelWork`: work (in GEMM MACs) below which a layer runs on the calling thread alone,
    /// because handing a share to a worker costs microseconds, tens of them when it sleeps; tests
    /// set 0 to split every layer.
    public init(model: Int8Model, threads: Int = 1, parallelWork: Int = Int8Engine.defaultParallelWork) throws(Int8EngineError) {
        precondition(threads >= 1, "an engine needs at least one thread")
        self.parallelWork = parallelWork
        let layout = model.arena(threads: threads)
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, ArenaLayout.alignment, layout.byteCount) == 0, let pointer else {
            throw Int8EngineError(source: model.modelFile.source, reason: .outOfMemory(byteCount: layout.byteCount))
        }
        do throws(Errno) { pool = try WorkerPool(threadCount: threads) } catch {
            free(pointer)
            throw Int8EngineError(source: model.modelFile.source, reason: .threads(count: threads, detail: "\(error)"))
        }
        self.model = model
        self.layout = layout
        arena = pointer
        buffers = Buffers(arena: pointer, layout: layout)
    }

    /// Checks and plans `modelFile` for `kernels` (see `Int8Model`) and allocates an engine for it.
    public convenience init(modelFile: ModelFile, kernels: Kernels = .best, threads: Int = 1) throws(Int8EngineError) {
        try self.init(model: Int8Model(modelFile: modelFile, kernels: kernels), threads: threads)
    }

    deinit { free(arena) }

    /// The kernels this engine runs (its model's).
    public var kernels: Kernels { model.kernels }

    /// Threads that work on each inference, the caller's included.
    public var threadCount: Int { pool.threadCount }

    /// Bytes of the activation arena.
    public var arenaByteCount: Int { layout.byteCount }

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
        // Workers stay awake through the frame once the model has shown it splits layers.
        if splitsLayers { pool.hold() }
        defer { pool.release() }
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
            kernels.patchifyImage(
                image, height: stage.inputHeight, width: stage.inputWidth, channels: g.inChannels,
                kernel: g.embedKernel, into: b.patches)
        } else {
            kernels.patchify(
                view(b.residual, stage.inputHeight * stage.inputWidth * g.inChannels),
                height: stage.inputHeight, width: stage.inputWidth, channels: g.inChannels,
                kernel: g.embedKernel, into: b.patches)
        }
        gemm(b.patches, rows: n, stage.embed, into: b.tokensA)
        tap(observe, .embed, m, nil, b.tokensA, Int8TapShape(n, c))
        layerNorm(b.tokensA, rows: n, stage.embedNorm, into: b.tokensB)
        tap(observe, .embedNorm, m, nil, b.tokensB, Int8TapShape(n, c))
        let x = prefix(b.residual, n * c)
        add2(view(b.tokensB, n * c), stage.position, stage.posAdd, into: x)
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

        layerNorm(x, rows: n, block.norm1, into: b.tokensA)
        tap(observe, .norm1, m, i, b.tokensA, tokens)
        var ur = b.tokensA
        if let reduction = block.reduction {
            kernels.patchify(
                view(b.tokensA, n * c), height: g.height, width: g.width, channels: c, kernel: g.srRatio,
                into: b.patches)
            gemm(b.patches, rows: nk, reduction.sr, into: b.reduced)
            tap(observe, .reduction, m, i, b.reduced, keyTokens)
            layerNorm(b.reduced, rows: nk, reduction.norm, into: b.reducedNorm)
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
            attentionScores(q: b.tokensB, k: b.keys, stage.attention, qk, into: scores)
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
        softmax(scores, rows: h * n, cols: nk, block.softmax, into: probabilities)
        observe(Int8Tap(
            id: TapPoint(.probabilities, stage: m, block: i), shape: scoreShape,
            values: .int16(UnsafeBufferPointer(probabilities))))
        attentionOutput(p: probabilities, v: b.values, stage.attention, block.pv, into: b.tokensA)
        tap(observe, .pv, m, i, b.tokensA, tokens)
        gemm(b.tokensA, rows: n, block.proj, into: b.tokensB)
        tap(observe, .attention, m, i, b.tokensB, tokens)
        add2(view(x), view(b.tokensB, n * c), block.add1, into: x)
        tap(observe, .add1, m, i, x, tokens)

        layerNorm(x, rows: n, block.norm2, into: b.tokensA)
        tap(observe, .norm2, m, i, b.tokensA, tokens)
        gemm(b.tokensA, rows: n, block.fc1, into: b.hidden)
        tap(observe, .fc1, m, i, b.hidden, Int8TapShape(n, g.hidden))
        let hidden = prefix(b.hidden, n * g.hidden)
        gelu(view(hidden), table: block.gelu, into: hidden)
        tap(observe, .gelu, m, i, hidden, Int8TapShape(n, g.hidden))
        gemm(hidden, rows: n, block.fc2, into: b.tokensB)
        tap(observe, .fc2, m, i, b.tokensB, tokens)
        add2(view(x), view(b.tokensB, n * c), block.add2, into: x)
        tap(observe, .add2, m, i, x, tokens)
    }

    /// `A = add2(A, gemm pw (dwconv2 dw (S_{m-1})))`. The 1x1 conv mixes heads, so its GEMM runs on
    /// rows (N Nk) x h_{m-1}: the reference transposes the conv output to that layout and the result
    /// back; the SIMD variants mix the heads in place (`Kernels.mixHeads`), with the same numbers.
    private func addResidual(
        _ residual: ResidualPlan, _ arAdd: Add2Parameters, stage: StagePlan, block i: Int,
        previous: UnsafeMutableBufferPointer<Int8>, into scores: UnsafeMutableBufferPointer<Int8>,
        _ observe: (Int8Tap) -> Void
    ) {
        let g = stage.geometry
        let p = residual.previous
        let (m, cells) = (g.index, g.tokens * g.keys)
        let b = buffers
        split(
            .depthwiseConv2(s: view(previous, p.heads * p.tokens * p.keys), height: p.height, width: p.width, keys: g.keys, p: residual.dw, u: b.scratchA),
            work: p.heads * g.tokens * g.keys * 64)
        tap(observe, .attentionResidualDW, m, nil, b.scratchA, Int8TapShape(p.heads, g.tokens, g.keys))
        if kernels == .scalar {
            ScalarKernels.transpose(view(b.scratchA, p.heads * cells), batches: 1, rows: p.heads, cols: cells, into: b.scratchB)
            gemm(b.scratchB, rows: cells, residual.pw, into: b.scratchA)
            ScalarKernels.transpose(view(b.scratchA, cells * g.heads), batches: 1, rows: cells, cols: g.heads, into: b.scratchB)
        } else {
            split(.mix(x: view(b.scratchA, p.heads * cells), count: cells, p: residual.pw, y: b.scratchB), work: cells * g.heads * p.heads * 64)
        }
        tap(observe, .attentionResidual, m, nil, b.scratchB, Int8TapShape(g.heads, g.tokens, g.keys))
        add2(view(scores), view(b.scratchB, scores.count), arAdd, into: scores)
        tap(observe, .arAdd, m, i, scores, Int8TapShape(g.heads, g.tokens, g.keys))
    }

    /// `logits = gemm32 head (meanpool pool (layernorm norm (x)))`.
    private func head(_ observe: (Int8Tap) -> Void) {
        let g = model.stages[model.stages.count - 1]
        let plan = model.plan.head
        let (n, c) = (g.tokens, g.dim)
        let b = buffers
        layerNorm(b.residual, rows: n, plan.norm, into: b.tokensA)
        tap(observe, .finalNorm, nil, nil, b.tokensA, Int8TapShape(n, c))
        ScalarKernels.meanPool(view(b.tokensA, n * c), rows: n, plan.pool, into: b.pooled)
        tap(observe, .pooled, nil, nil, b.pooled, Int8TapShape(c))
        split(.head(x: view(b.pooled), p: plan.head, y: b.logits), work: plan.head.outputs * c * 16)
        observe(Int8Tap(
            id: TapPoint(.logits), shape: Int8TapShape(plan.head.outputs), values: .int32(UnsafeBufferPointer(b.logits))))
    }

    /// A GEMM over contiguous rows of `p.depth`, writing contiguous rows of `p.outputs`. Threads
    /// split the rows when there are many, else the output channels in whole blocks.
    private func gemm(
        _ x: UnsafeMutableBufferPointer<Int8>, rows: Int, _ p: GemmParameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        let threads = pool.threadCount
        let byRows = rows >= Self.rowsPerThread * threads
        let blocks = (p.outputs + kernels.outputBlock - 1) / kernels.outputBlock
        split(
            .gemm(x: view(x, rows * p.depth), rows: rows, p: p, y: y, byRows: byRows), work: rows * p.depth * p.outputs,
            most: byRows ? threads : blocks)
    }

    private func layerNorm(
        _ x: UnsafeMutableBufferPointer<Int8>, rows: Int, _ p: LayerNormParameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        split(.layerNorm(x: view(x, rows * p.channels), rows: rows, p: p, y: y), work: rows * p.channels * 256)
    }

    private func softmax(
        _ a: UnsafeMutableBufferPointer<Int8>, rows: Int, cols: Int, _ exp: UnsafeBufferPointer<Int32>,
        into p: UnsafeMutableBufferPointer<Int16>
    ) {
        split(.softmax(a: view(a, rows * cols), rows: rows, cols: cols, exp: exp, p: p), work: rows * cols * 256)
    }

    /// `y = add2(a, b)` elementwise over `y`; `y` may be `a` (the residual adds).
    private func add2(
        _ a: UnsafeBufferPointer<Int8>, _ b: UnsafeBufferPointer<Int8>, _ p: Add2Parameters, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        split(.add2(a: a, b: b, p: p, y: y), work: y.count * 48)
    }

    /// GELU by table, elementwise over `y`; `y` may be `x`.
    private func gelu(_ x: UnsafeBufferPointer<Int8>, table: UnsafeBufferPointer<Int8>, into y: UnsafeMutableBufferPointer<Int8>) {
        split(.gelu(x: x, table: table, y: y), work: y.count * 16)
    }

    /// qk: each head's keys laid out once, then every thread takes a share of each head's rows.
    private func attentionScores(
        q: UnsafeMutableBufferPointer<Int8>, k keys: UnsafeMutableBufferPointer<Int8>, _ shape: AttentionShape,
        _ r: Requantization, into a: UnsafeMutableBufferPointer<Int8>
    ) {
        let width = shape.heads * shape.headDim
        let k = view(keys, shape.keys * width)
        for h in 0..<shape.heads { kernels.packKeys(k, stride: width, shape, r, head: h, into: buffers.packedHeads) }
        split(.qk(q: view(q, shape.tokens * width), k: k, shape: shape, r: r, a: a), work: shape.scoreCount * shape.headDim)
    }

    /// pv: each head's values laid out once, then every thread takes a share of each head's rows.
    private func attentionOutput(
        p: UnsafeMutableBufferPointer<Int16>, v values: UnsafeMutableBufferPointer<Int8>, _ shape: AttentionShape,
        _ r: Requantization, into o: UnsafeMutableBufferPointer<Int8>
    ) {
        let width = shape.heads * shape.headDim
        let v = view(values, shape.keys * width)
        for h in 0..<shape.heads { kernels.packValues(v, stride: width, shape, r, head: h, into: buffers.packedHeads) }
        split(.pv(p: view(p, shape.scoreCount), v: v, shape: shape, r: r, o: o), work: shape.scoreCount * shape.headDim)
    }

    /// Runs `work` in shares on the pool: one per thread, at most `most`, and one alone when the
    /// layer's `work` is too little to repay handing it out. Work is counted in GEMM MACs: the
    /// row-wise kernels weigh each element by what it costs against a MAC. The pool takes a C
    /// function and this engine as its context, so handing out a layer allocates nothing.
    private func split(_ work: Work, work amount: Int, most: Int = .max) {
        self.work = work
        shares = amount < parallelWork ? 1 : min(pool.threadCount, most)
        if shares > 1 { splitsLayers = true }
        pool.run(tasks: shares, context: Unmanaged.passUnretained(self).toOpaque()) { context, t in
            Unmanaged<Int8Engine>.fromOpaque(context!).takeUnretainedValue().runShare(t)
        }
    }

    /// Share `t` of the current `work`.
    private func runShare(_ t: Int) {
        let k = kernels
        switch work {
        case .gemm(let x, let rows, let p, let y, let byRows):
            if byRows {
                let share = Self.share(rows, t, shares)
                guard !share.isEmpty else { return }
                k.gemm(
                    UnsafeBufferPointer(rebasing: x[(share.lowerBound * p.depth)...]), rows: share.count, stride: p.depth, p,
                    outputs: 0..<p.outputs, into: UnsafeMutableBufferPointer(rebasing: y[(share.lowerBound * p.outputs)...]),
                    stride: p.outputs, scratch: scratch(t))
            } else {
                let block = k.outputBlock
                let share = Self.share((p.outputs + block - 1) / block, t, shares)
                guard !share.isEmpty else { return }
                k.gemm(
                    x, rows: rows, stride: p.depth, p, outputs: share.lowerBound * block..<min(share.upperBound * block, p.outputs),
                    into: y, stride: p.outputs, scratch: scratch(t))
            }
        case .layerNorm(let x, let rows, let p, let y):
            let share = Self.share(rows, t, shares)
            guard !share.isEmpty else { return }
            let c = p.channels
            k.layerNorm(
                UnsafeBufferPointer(rebasing: x[share.lowerBound * c..<share.upperBound * c]), rows: share.count, p,
                into: UnsafeMutableBufferPointer(rebasing: y[share.lowerBound * c..<share.upperBound * c]))
        case .softmax(let a, let rows, let cols, let exp, let p):
            let share = Self.share(rows, t, shares)
            guard !share.isEmpty else { return }
            k.softmax(
                UnsafeBufferPointer(rebasing: a[share.lowerBound * cols..<share.upperBound * cols]), rows: share.count, cols: cols,
                exp: exp, into: UnsafeMutableBufferPointer(rebasing: p[share.lowerBound * cols..<share.upperBound * cols]))
        case .qk(let q, let keys, let shape, let r, let a):
            let rows = Self.share(shape.tokens, t, shares)
            guard !rows.isEmpty else { return }
            let width = shape.heads * shape.headDim
            for h in 0..<shape.heads {
                k.qk(
                    q: q, stride: width, k: keys, stride: width, shape, r, head: h, rows: rows, packed: buffers.packedHeads,
                    into: a, scratch: scratch(t))
            }
        case .pv(let p, let v, let shape, let r, let o):
            let rows = Self.share(shape.tokens, t, shares)
            guard !rows.isEmpty else { return }
            let width = shape.heads * shape.headDim
            for h in 0..<shape.heads {
                k.pv(
                    p: p, v: v, stride: width, shape, r, head: h, rows: rows, packed: buffers.packedHeads,
                    into: o, stride: width, scratch: scratch(t))
            }
        case .add2(let a, let b, let p, let y):
            let share = Self.share(y.count, t, shares)
            guard !share.isEmpty else { return }
            k.add2(
                UnsafeBufferPointer(rebasing: a[share]), UnsafeBufferPointer(rebasing: b[share]), p,
                into: UnsafeMutableBufferPointer(rebasing: y[share]))
        case .gelu(let x, let table, let y):
            let share = Self.share(y.count, t, shares)
            guard !share.isEmpty else { return }
            k.gelu(UnsafeBufferPointer(rebasing: x[share]), table: table, into: UnsafeMutableBufferPointer(rebasing: y[share]))
        case .mix(let x, let count, let p, let y):
            let cells = Self.share(count, t, shares)
            guard !cells.isEmpty else { return }
            k.mixHeads(x, count: count, p, cells: cells, into: y)
        case .depthwiseConv2(let s, let height, let width, let keys, let p, let u):
            let rows = Self.share(height / 2, t, shares)
            guard !rows.isEmpty else { return }
            for c in 0..<p.channels {
                k.depthwiseConv2(s, height: height, width: width, keys: keys, p, channel: c, rows: rows, into: u)
            }
        case .head(let x, let p, let y):
            let outputs = Self.share(p.outputs, t, shares)
            guard !outputs.isEmpty else { return }
            ScalarKernels.gemm32(
                x, rows: 1, stride: p.depth, p.outputs(outputs), into: UnsafeMutableBufferPointer(rebasing: y[outputs]),
                stride: outputs.count)
        case .none:
            break
        }
    }

    /// Rows per thread below which a GEMM splits its output channels instead.
    private static let rowsPerThread = 32

    /// The default `parallelWork`: some 20 to 30 microseconds of work. A share handed to another
    /// core costs a few microseconds when its thread is spinning and tens when it has gone to
    /// sleep, as it does between frames; at this size a small model (the shipped one) stays on
    /// one thread and LaViT-T's layers still split.
    public static let defaultParallelWork = 1 << 22

    /// Share `t` of `count` items split evenly over `parts`.
    private static func share(_ count: Int, _ t: Int, _ parts: Int) -> Range<Int> {
        count * t / parts..<count * (t + 1) / parts
    }

    /// Thread `t`'s scratch.
    private func scratch(_ t: Int) -> UnsafeMutableRawPointer? {
        layout.scratchPerThread == 0 ? nil : buffers.scratch + t * layout.scratchPerThread
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

/// A layer as the pool splits it: its operands, read by every share.
private enum Work {
    case none
    case gemm(x: UnsafeBufferPointer<Int8>, rows: Int, p: GemmParameters, y: UnsafeMutableBufferPointer<Int8>, byRows: Bool)
    case layerNorm(x: UnsafeBufferPointer<Int8>, rows: Int, p: LayerNormParameters, y: UnsafeMutableBufferPointer<Int8>)
    case softmax(a: UnsafeBufferPointer<Int8>, rows: Int, cols: Int, exp: UnsafeBufferPointer<Int32>, p: UnsafeMutableBufferPointer<Int16>)
    case qk(q: UnsafeBufferPointer<Int8>, k: UnsafeBufferPointer<Int8>, shape: AttentionShape, r: Requantization, a: UnsafeMutableBufferPointer<Int8>)
    case pv(p: UnsafeBufferPointer<Int16>, v: UnsafeBufferPointer<Int8>, shape: AttentionShape, r: Requantization, o: UnsafeMutableBufferPointer<Int8>)
    case add2(a: UnsafeBufferPointer<Int8>, b: UnsafeBufferPointer<Int8>, p: Add2Parameters, y: UnsafeMutableBufferPointer<Int8>)
    case gelu(x: UnsafeBufferPointer<Int8>, table: UnsafeBufferPointer<Int8>, y: UnsafeMutableBufferPointer<Int8>)
    case mix(x: UnsafeBufferPointer<Int8>, count: Int, p: GemmParameters, y: UnsafeMutableBufferPointer<Int8>)
    case depthwiseConv2(s: UnsafeBufferPointer<Int8>, height: Int, width: Int, keys: Int, p: DepthwiseConv2Parameters, u: UnsafeMutableBufferPointer<Int8>)
    /// The int32 head GEMM, split by output channels (scalar: it is 0.1% of the MACs).
    case head(x: UnsafeBufferPointer<Int8>, p: GemmParameters, y: UnsafeMutableBufferPointer<Int32>)
}

/// The arena's regions as typed buffers (see `ArenaLayout`).
private struct Buffers {
    let residual, patches, tokensA, tokensB, reduced, reducedNorm, keys, values, hidden: UnsafeMutableBufferPointer<Int8>
    let scoresEven, scoresOdd, scratchA, scratchB, pooled: UnsafeMutableBufferPointer<Int8>
    let probabilities: UnsafeMutableBufferPointer<Int16>
    let logits: UnsafeMutableBufferPointer<Int32>
    let packedHeads, scratch: UnsafeMutableRawPointer

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
        packedHeads = arena + layout.offset(.packedHeads)
        scratch = arena + layout.offset(.scratch)
    }
}
