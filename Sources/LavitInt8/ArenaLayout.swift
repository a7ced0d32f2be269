import LavitModel
import LavitKernels

/// Where every buffer of a forward pass lives inside the engine's one arena, sized for the largest
/// stage of a config. Regions are 64-byte aligned and never overlap; each is bound to one element
/// type. Within a block the token regions are reused as soon as their contents are dead:
///
/// | region | elements | holds |
/// |---|---|---|
/// | residual | max N C | `x`, updated in place by pos_add, add1, add2 |
/// | patches | max of N Cin k^2 (stage embed), Nk C r^2 (sr) | patchify outputs |
/// | tokensA | max N C | embed conv, then per block `u` (norm1), `o` (pv), norm2; final norm |
/// | tokensB | max N C | embed norm, then per block `q`, proj output, fc2 output |
/// | reduced, reducedNorm | max Nk C over stages with r > 1 | sr conv and its norm (`ur`) |
/// | keys, values | max Nk C | the k and v halves of kv (v alone in LA layers) |
/// | hidden | max N C ratio | fc1 output, GELU in place |
/// | scores[2] | max h N Nk | the stored scores S, ping-ponged: see below |
/// | probabilities | max h N Nk (int16) | softmax output P |
/// | scratch[2] | max h N Nk over LA stages, h_{m-1..m} N_m Nk over AR stages | Theta, Psi and AR layouts |
/// | pooled | C_last | mean pool |
/// | logits | num_classes (int32) | the result |
/// | packedHeads | h x the variant's per-head layout (bytes) | k or v laid out for qk and pv |
/// | scratch | threads x the variant's per-thread scratch (bytes) | each thread's share of a kernel |
///
/// Score ping-pong: the blocks of the whole model are numbered in order, and block `g` writes its
/// scores into `scores[g % 2]`. Block `g` reads the scores of block `g - 1` from the other buffer:
/// the previous block of its stage (LA's Theta) or, for the first block of a stage, the last
/// block of the previous stage (the AR's input, still intact because nothing else writes there).
struct ArenaLayout: Sendable, Equatable {
    enum Region: Int, CaseIterable, Sendable {
        case residual, patches, tokensA, tokensB, reduced, reducedNorm, keys, values, hidden
        case scoresEven, scoresOdd, probabilities, scratchA, scratchB, pooled, logits
        case packedHeads, scratch
    }

    static let alignment = 64

    /// Bytes per element: every region is int8 except these.
    static func elementSize(_ region: Region) -> Int {
        switch region {
        case .probabilities: MemoryLayout<Int16>.size
        case .logits: MemoryLayout<Int32>.size
        default: 1
        }
    }

    /// Element counts and byte offsets, indexed by `Region.rawValue`.
    private(set) var counts: [Int]
    private(set) var offsets: [Int]
    private(set) var byteCount: Int

    /// Bytes of one thread's share of `scratch`.
    private(set) var scratchPerThread: Int

    init(config: Config, stages: [StageGeometry], kernels: Kernels = .scalar, threads: Int = 1) {
        var count = Array(repeating: 0, count: Region.allCases.count)
        func grow(_ region: Region, _ n: Int) { count[region.rawValue] = max(count[region.rawValue], n) }
        var previous: StageGeometry?
        var depth = 0
        for g in stages {
            let (n, c, nk) = (g.tokens, g.dim, g.keys)
            let scores = g.heads * n * nk
            for region in [Region.residual, .tokensA, .tokensB] { grow(region, n * c) }
            grow(.patches, n * g.inChannels * g.embedKernel * g.embedKernel)
            if g.srRatio > 1 {
                grow(.patches, nk * c * g.srRatio * g.srRatio)
                grow(.reduced, nk * c)
                grow(.reducedNorm, nk * c)
            }
            grow(.keys, nk * c)
            grow(.values, nk * c)
            grow(.hidden, n * g.hidden)
            for region in [Region.scoresEven, .scoresOdd, .probabilities] { grow(region, scores) }
            if g.numVA < g.depth {
                grow(.scratchA, scores)
                grow(.scratchB, scores)
            }
            if g.hasAttentionResidual, let p = previous {
                grow(.scratchA, max(p.heads, g.heads) * n * nk)
                grow(.scratchB, max(p.heads, g.heads) * n * nk)
            }
            let attention = AttentionShape(heads: g.heads, headDim: g.headDim, tokens: n, keys: nk)
            grow(.packedHeads, g.heads * kernels.packedHeadByteCount(attention))
            depth = max(
                depth, g.inChannels * g.embedKernel * g.embedKernel, c * g.srRatio * g.srRatio, c, nk, n, g.hidden,
                previous?.heads ?? 0)
            previous = g
        }
        scratchPerThread = (kernels.scratchByteCount(depth: depth) + Self.alignment - 1) / Self.alignment * Self.alignment
        grow(.scratch, threads * scratchPerThread)
        grow(.pooled, stages[stages.count - 1].dim)
        grow(.logits, config.numClasses)

        var offsets: [Int] = []
        var end = 0
        for region in Region.allCases {
            offsets.append(end)
            let bytes = count[region.rawValue] * Self.elementSize(region)
            end += (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        self.counts = count
        self.offsets = offsets
        self.byteCount = max(end, Self.alignment)
    }

    func count(_ region: Region) -> Int { counts[region.rawValue] }
    func offset(_ region: Region) -> Int { offsets[region.rawValue] }
}
