/// Parameters and multiply-accumulates per layer, counted as MODEL.md "Counting params and MACs"
/// says (the fvcore convention the paper quotes as FLOPs), so any config can be checked against
/// the paper by hand.
public struct Cost: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        /// State-dict prefix of the layer's tensors, e.g. `stages.2.blocks.1`.
        public var module: String
        /// `module`, with ` (VA)` or ` (LA)` after blocks.
        public var name: String
        public var params: Int
        public var macs: Int
    }

    public let rows: [Row]

    public init(config: Config) throws(ConfigError) {
        rows = Self.rows(config: config, stages: try config.stageGeometry())
    }

    public var params: Int { rows.reduce(0) { $0 + $1.params } }
    public var macs: Int { rows.reduce(0) { $0 + $1.macs } }

    /// Saturating, so that validation can run it on configs that would overflow.
    static func rows(config: Config, stages: [StageGeometry]) -> [Row] {
        typealias S = Saturating
        var rows: [Row] = []
        func add(_ module: String, _ name: String? = nil, params: [Int], macs: [Int]) {
            rows.append(Row(module: module, name: name ?? module, params: S.sum(params), macs: S.sum(macs)))
        }
        for g in stages {
            let (c, n, nk, h, r, hid) = (g.dim, g.tokens, g.keys, g.heads, g.srRatio, g.hidden)
            let stage = ParameterName.stage(g.index)
            let patch = S.product(g.inChannels, g.embedKernel, g.embedKernel)
            add(
                "\(stage).embed", params: [S.product(c, patch), c, 2 * c],
                macs: [S.product(n, c, patch)])
            add("\(stage).pos_embed", params: [S.product(n, c)], macs: [])
            if g.hasAttentionResidual {
                let hp = stages[g.index - 1].heads
                add(
                    "\(stage).attn_residual", params: [4 * hp, hp, S.product(h, hp), h, h],
                    macs: [S.product(hp, n, nk, 4), S.product(n, nk, h, hp)])
            }
            for i in 0..<g.depth {
                let va = g.isVA(block: i)
                var params = [2 * c, S.product(c, c), c, 2 * c, S.product(hid, c), hid, S.product(c, hid), c]
                var macs = [S.product(n, c, c), S.product(n, hid, c), S.product(n, c, hid), S.product(n, nk, c)]
                if r > 1 {
                    params += [S.product(c, c, r, r), c, 2 * c]
                    macs += [S.product(nk, c, c, r, r)]
                }
                if va {
                    params += [S.product(3, c, c), 3 * c]
                    macs += [S.product(n, c, c), S.product(nk, 2, c, c), S.product(n, nk, c)]
                } else {
                    params += [S.product(c, c), c, S.product(nk, nk), nk, S.product(n, n)]
                    macs += [S.product(nk, c, c), S.product(h, n, nk, nk), S.product(h, nk, n, n)]
                }
                let module = ParameterName.block(g.index, i)
                add(module, "\(module) (\(va ? "VA" : "LA"))", params: params, macs: macs)
            }
        }
        let last = stages[stages.count - 1].dim
        add("norm", params: [2 * last], macs: [])
        add(
            "head", params: [S.product(config.numClasses, last), config.numClasses],
            macs: [S.product(config.numClasses, last)])
        return rows
    }
}
