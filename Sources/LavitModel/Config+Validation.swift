extension Config {
    /// Bounds that keep every size lavit derives from a config far from `Int` overflow, and refuse
    /// configs no checkpoint could hold, before anything allocates for them.
    public enum Limits {
        public static let stages = 16
        public static let depth = 1024
        public static let dimension = 1 << 16
        public static let parameters = 1 << 32
        public static let macs = 1 << 44
        /// Blocks over all stages: far above any LaViT (B has 12), and what keeps a checkpoint's
        /// tensor table, and the work of reading it, small.
        public static let blocks = 1024
        /// Luma or RGB: the only inputs the preprocessor produces.
        public static let inputChannels = [1, 3]
        /// The longest model input side the preprocessor produces; `ImageLimits.maxSide` is this.
        public static let imageSide = 16384
        /// The most state-dict tensors a config within these limits implies: per stage the
        /// embedding (conv, norm, position) and attention residual (5), per block at most 19
        /// (norms, an LA attention with spatial reduction, projection, MLP), and the head's 4.
        public static let parameterTensors = stages * 10 + blocks * 19 + 4
    }

    /// Checks the rules of MODEL.md "Geometry" and the limits above; throws on the first broken one.
    public func validate() throws(ConfigError) {
        _ = try stageGeometry()
    }

    /// Everything that can be checked on the fields alone; after it, geometry cannot divide by 0.
    func validateFields() throws(ConfigError) {
        let s = embedDims.count
        guard s >= 1 else { throw .noStages }
        guard s <= Limits.stages else { throw .tooManyStages(count: s, limit: Limits.stages) }
        let lists: [(String, [Int])] = [
            ("embed_dims", embedDims), ("depths", depths), ("num_heads", numHeads), ("num_va", numVA),
            ("sr_ratios", srRatios), ("mlp_ratios", mlpRatios),
        ]
        for (field, values) in lists where values.count != s {
            throw .stageListLength(field: field, count: values.count, expected: s)
        }
        guard imageSize.count == 2 else { throw .imageSizeCount(imageSize.count) }
        try Self.check("image_size[0]", nil, imageSize[0], limit: Limits.imageSide)
        try Self.check("image_size[1]", nil, imageSize[1], limit: Limits.imageSide)
        guard Limits.inputChannels.contains(inChans) else { throw .inputChannels(inChans) }
        try Self.check("num_classes", nil, numClasses)
        try Self.check("patch_size", nil, patchSize)
        for (field, values) in lists {
            let limit = field == "depths" ? Limits.depth : Limits.dimension
            for (m, value) in values.enumerated() {
                try Self.check(field, m, value, limit: limit)
            }
        }
        let blocks = depths.reduce(0, +)
        guard blocks <= Limits.blocks else {
            throw .tooLarge(field: "depths (all stages)", stage: nil, value: blocks, limit: Limits.blocks)
        }
        guard lnEps.isFinite, lnEps > 0 else { throw .badEpsilon(lnEps) }
        for (field, values) in [("input_mean", inputMean), ("input_std", inputStd)] {
            guard values.count == inChans else {
                throw .inputStatsCount(field: field, count: values.count, expected: inChans)
            }
            for (channel, value) in values.enumerated()
            where !value.isFinite || (field == "input_std" && value <= 0) {
                throw .badInputStat(field: field, channel: channel, value: value)
            }
        }
        for m in 0..<s {
            guard embedDims[m] % numHeads[m] == 0 else {
                throw .headsDoNotDivide(stage: m, dim: embedDims[m], heads: numHeads[m])
            }
            guard numVA[m] <= depths[m] else {
                throw .numVAOutOfRange(stage: m, numVA: numVA[m], depth: depths[m])
            }
        }
    }

    func validateGeometry(_ stages: [StageGeometry]) throws(ConfigError) {
        for g in stages where g.height < 1 || g.width < 1 {
            throw .emptyQueryGrid(stage: g.index, height: g.height, width: g.width)
        }
        for g in stages where g.keyHeight < 1 || g.keyWidth < 1 {
            throw .emptyKeyGrid(stage: g.index, height: g.keyHeight, width: g.keyWidth, srRatio: g.srRatio)
        }
        for g in stages where g.hasAttentionResidual {
            let p = stages[g.index - 1]
            guard g.keyHeight == p.keyHeight, g.keyWidth == p.keyWidth else {
                throw .keyGridMismatch(
                    stage: g.index, height: g.keyHeight, width: g.keyWidth,
                    previousHeight: p.keyHeight, previousWidth: p.keyWidth)
            }
        }
        let cost = Cost.rows(config: self, stages: stages)
        let params = Saturating.sum(cost.map(\.params))
        guard params <= Limits.parameters else {
            throw .modelTooLarge(quantity: "parameters", count: params, limit: Limits.parameters)
        }
        let macs = Saturating.sum(cost.map(\.macs))
        guard macs <= Limits.macs else {
            throw .modelTooLarge(quantity: "MACs", count: macs, limit: Limits.macs)
        }
    }

    private static func check(
        _ field: String, _ stage: Int?, _ value: Int, limit: Int = Limits.dimension
    ) throws(ConfigError) {
        guard value >= 1 else { throw .notPositive(field: field, stage: stage, value: value) }
        guard value <= limit else { throw .tooLarge(field: field, stage: stage, value: value, limit: limit) }
    }
}
