/// Every state-dict tensor a config implies, by name and PyTorch shape, in the order of MODEL.md's
/// key table. The one source of truth for what a checkpoint must hold.
public struct ParameterSchema: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var count: Int { shape.reduce(1, *) }
    }

    public let entries: [Entry]

    public init(config: Config) throws(ConfigError) {
        let stages = try config.stageGeometry()
        var entries: [Entry] = []
        func add(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape)) }
        func linear(_ prefix: String, out: Int, in: Int, bias: Bool = true) {
            add("\(prefix).weight", [out, `in`])
            if bias { add("\(prefix).bias", [out]) }
        }
        func conv(_ prefix: String, out: Int, in: Int, kernel: Int) {
            add("\(prefix).weight", [out, `in`, kernel, kernel])
            add("\(prefix).bias", [out])
        }
        func norm(_ prefix: String, _ c: Int) {
            add("\(prefix).weight", [c])
            add("\(prefix).bias", [c])
        }
        for g in stages {
            let (c, n, nk, h) = (g.dim, g.tokens, g.keys, g.heads)
            let stage = ParameterName.stage(g.index)
            conv("\(stage).embed.proj", out: c, in: g.inChannels, kernel: g.embedKernel)
            norm("\(stage).embed.norm", c)
            add("\(stage).pos_embed", [1, n, c])
            if g.hasAttentionResidual {
                let hp = stages[g.index - 1].heads
                add("\(stage).attn_residual.dw.weight", [hp, 1, 2, 2])
                add("\(stage).attn_residual.dw.bias", [hp])
                conv("\(stage).attn_residual.pw", out: h, in: hp, kernel: 1)
                add("\(stage).attn_residual.gamma", [h])
            }
            for i in 0..<g.depth {
                let block = ParameterName.block(g.index, i)
                norm("\(block).norm1", c)
                if g.isVA(block: i) {
                    linear("\(block).attn.q", out: c, in: c)
                    linear("\(block).attn.kv", out: 2 * c, in: c)
                } else {
                    linear("\(block).attn.v", out: c, in: c)
                    linear("\(block).attn.theta", out: nk, in: nk)
                    linear("\(block).attn.psi", out: n, in: n, bias: false)
                }
                if g.srRatio > 1 {
                    conv("\(block).attn.sr", out: c, in: c, kernel: g.srRatio)
                    norm("\(block).attn.norm", c)
                }
                linear("\(block).attn.proj", out: c, in: c)
                norm("\(block).norm2", c)
                linear("\(block).mlp.fc1", out: g.hidden, in: c)
                linear("\(block).mlp.fc2", out: c, in: g.hidden)
            }
        }
        let last = stages[stages.count - 1].dim
        norm("norm", last)
        linear("head", out: config.numClasses, in: last)
        self.entries = entries
    }

    public var elementCount: Int { entries.reduce(0) { $0 + $1.count } }

    public func shape(of name: String) -> [Int]? {
        entries.first { $0.name == name }?.shape
    }
}
