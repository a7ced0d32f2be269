import LavitKernels
import LavitModel

/// Every layer of QUANT.md "Graph" for one config, resolved to kernel parameters that point into
/// the model file. Built once; inference only walks it.
struct Plan {
    var stages: [StagePlan]
    var head: HeadPlan

    init(config: Config, geometry: [StageGeometry], tensors r: TensorResolver) throws(Int8EngineError) {
        var stages: [StagePlan] = []
        for g in geometry {
            stages.append(try StagePlan(config: config, g, previous: g.index > 0 ? geometry[g.index - 1] : nil, tensors: r))
        }
        self.stages = stages
        let last = geometry[geometry.count - 1]
        head = HeadPlan(
            norm: try r.layerNorm("norm", channels: last.dim),
            pool: try r.meanPool("pool", rows: last.tokens),
            head: try r.gemm("head", outputs: config.numClasses, depth: last.dim, int32Output: true))
    }
}

struct StagePlan {
    var geometry: StageGeometry
    /// The grid the stage embedding patchifies: the image for stage 0, else the previous stage's.
    var inputHeight: Int
    var inputWidth: Int
    var embed: GemmParameters
    var embedNorm: LayerNormParameters
    var posAdd: Add2Parameters
    /// `stages.m.pos_embed.q`, int8 [N, C].
    var position: UnsafeBufferPointer<Int8>
    var residual: ResidualPlan?
    var blocks: [BlockPlan]

    init(config: Config, _ g: StageGeometry, previous: StageGeometry?, tensors r: TensorResolver) throws(Int8EngineError) {
        let stage = "stages.\(g.index)"
        geometry = g
        inputHeight = previous?.height ?? config.imageSize[0]
        inputWidth = previous?.width ?? config.imageSize[1]
        let k = g.embedKernel
        embed = try r.gemm("\(stage).embed.proj", outputs: g.dim, depth: g.inChannels * k * k)
        embedNorm = try r.layerNorm("\(stage).embed.norm", channels: g.dim)
        posAdd = try r.add2("\(stage).pos_add")
        position = try r.tensor("\(stage).pos_embed.q", [g.tokens, g.dim])
        if g.hasAttentionResidual, let previous {
            residual = ResidualPlan(
                previous: previous,
                dw: try r.depthwiseConv2("\(stage).attn_residual.dw", channels: previous.heads),
                pw: try r.gemm("\(stage).attn_residual.pw", outputs: g.heads, depth: previous.heads, symmetric: true))
        }
        var blocks: [BlockPlan] = []
        for i in 0..<g.depth {
            blocks.append(try BlockPlan(g, block: i, hasResidual: residual != nil && i == 0, tensors: r))
        }
        self.blocks = blocks
    }

    var attention: AttentionShape {
        AttentionShape(heads: geometry.heads, headDim: geometry.headDim, tokens: geometry.tokens, keys: geometry.keys)
    }
}

/// The AR of a stage m > 0: reads `S_{m-1}`, shaped by the previous stage's heads and grid.
struct ResidualPlan {
    var previous: StageGeometry
    var dw: DepthwiseConv2Parameters
    var pw: GemmParameters
}

struct BlockPlan {
    enum Mixing {
        /// `k` and `v` are the two halves of `attn.kv`; `arAdd` only in the first block of a stage
        /// with an attention residual.
        case vanilla(q: GemmParameters, k: GemmParameters, v: GemmParameters, qk: Requantization, arAdd: Add2Parameters?)
        case less(v: GemmParameters, theta: GemmParameters, psi: GemmParameters)
    }

    struct Reduction {
        var sr: GemmParameters
        var norm: LayerNormParameters
    }

    var norm1: LayerNormParameters
    var reduction: Reduction?
    var mixing: Mixing
    var softmax: UnsafeBufferPointer<Int32>
    var pv: Requantization
    var proj: GemmParameters
    var add1: Add2Parameters
    var norm2: LayerNormParameters
    var fc1: GemmParameters
    var gelu: UnsafeBufferPointer<Int8>
    var fc2: GemmParameters
    var add2: Add2Parameters

    init(_ g: StageGeometry, block i: Int, hasResidual: Bool, tensors r: TensorResolver) throws(Int8EngineError) {
        let b = "stages.\(g.index).blocks.\(i)"
        let (c, n, nk) = (g.dim, g.tokens, g.keys)
        norm1 = try r.layerNorm("\(b).norm1", channels: c)
        if g.srRatio > 1 {
            reduction = Reduction(
                sr: try r.gemm("\(b).attn.sr", outputs: c, depth: c * g.srRatio * g.srRatio),
                norm: try r.layerNorm("\(b).attn.norm", channels: c))
        }
        if g.isVA(block: i) {
            let q = try r.gemm("\(b).attn.q", outputs: c, depth: c, symmetric: true)
            let kv = try r.gemm("\(b).attn.kv", outputs: 2 * c, depth: c, symmetric: true)
            mixing = .vanilla(
                q: q, k: kv.outputs(0..<c), v: kv.outputs(c..<2 * c),
                qk: try r.requantization("\(b).attn.qk", maxAccumulator: TensorResolver.bound(g.headDim, TensorResolver.int8Product)),
                arAdd: hasResidual ? try r.add2("\(b).attn.ar_add") : nil)
        } else {
            mixing = .less(
                v: try r.gemm("\(b).attn.v", outputs: c, depth: c, symmetric: true),
                theta: try r.gemm("\(b).attn.theta", outputs: nk, depth: nk),
                psi: try r.gemm("\(b).attn.psi", outputs: n, depth: n, symmetric: true))
        }
        softmax = try r.softmax("\(b).attn.softmax")
        pv = try r.pv("\(b).attn.pv", keys: nk)
        proj = try r.gemm("\(b).attn.proj", outputs: c, depth: c)
        add1 = try r.add2("\(b).add1")
        norm2 = try r.layerNorm("\(b).norm2", channels: c)
        fc1 = try r.gemm("\(b).mlp.fc1", outputs: g.hidden, depth: c)
        gelu = try r.gelu("\(b).mlp.gelu")
        fc2 = try r.gemm("\(b).mlp.fc2", outputs: c, depth: g.hidden)
        add2 = try r.add2("\(b).add2")
    }
}

struct HeadPlan {
    var norm: LayerNormParameters
    var pool: MeanPoolParameters
    var head: GemmParameters
}

extension Plan {
    /// Calls `body` on every weight GEMM the variants run (all but the int32 head), in plan order,
    /// with the patch geometry (grid channels, patch side) of those that run on patches.
    mutating func forEachGemm(_ body: (inout GemmParameters, _ patch: (channels: Int, kernel: Int)?) -> Void) {
        for m in stages.indices {
            let g = stages[m].geometry
            body(&stages[m].embed, (g.inChannels, g.embedKernel))
            if stages[m].residual != nil { body(&stages[m].residual!.pw, nil) }
            for i in stages[m].blocks.indices {
                stages[m].blocks[i].forEachGemm(srPatch: (g.dim, g.srRatio), body)
            }
        }
    }
}

extension BlockPlan {
    mutating func forEachGemm(srPatch: (channels: Int, kernel: Int), _ body: (inout GemmParameters, _ patch: (channels: Int, kernel: Int)?) -> Void) {
        if reduction != nil { body(&reduction!.sr, srPatch) }
        switch mixing {
        case .vanilla(var q, var k, var v, let qk, let arAdd):
            body(&q, nil)
            body(&k, nil)
            body(&v, nil)
            mixing = .vanilla(q: q, k: k, v: v, qk: qk, arAdd: arAdd)
        case .less(var v, var theta, var psi):
            body(&v, nil)
            body(&theta, nil)
            body(&psi, nil)
            mixing = .less(v: v, theta: theta, psi: psi)
        }
        body(&proj, nil)
        body(&fc1, nil)
        body(&fc2, nil)
    }
}
