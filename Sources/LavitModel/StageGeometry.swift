/// The shapes one stage works with, derived from a config by MODEL.md "Geometry".
public struct StageGeometry: Sendable, Equatable {
    public var index: Int
    /// Channels and kernel of the stage embedding conv (`in_chans`, `patch_size` for stage 0).
    public var inChannels: Int
    public var embedKernel: Int
    /// Query grid; tokens are row-major, `n = y * width + x`.
    public var height: Int
    public var width: Int
    /// Key grid after the spatial reduction by `srRatio`.
    public var keyHeight: Int
    public var keyWidth: Int
    public var dim: Int
    public var heads: Int
    public var hidden: Int
    public var depth: Int
    public var numVA: Int
    public var srRatio: Int
    /// Whether this stage adds an attention residual from the previous stage's scores.
    public var hasAttentionResidual: Bool

    public var tokens: Int { height * width }
    public var keys: Int { keyHeight * keyWidth }
    public var headDim: Int { dim / heads }

    public func isVA(block: Int) -> Bool { block < numVA }
}

extension Config {
    /// The validated geometry of every stage.
    public func stageGeometry() throws(ConfigError) -> [StageGeometry] {
        try validateFields()
        let stages = uncheckedStageGeometry()
        try validateGeometry(stages)
        return stages
    }

    /// Geometry by plain floor division; only meaningful once `validateFields` has passed.
    func uncheckedStageGeometry() -> [StageGeometry] {
        var height = imageSize[0] / patchSize
        var width = imageSize[1] / patchSize
        return (0..<stageCount).map { m in
            if m > 0 {
                height /= 2
                width /= 2
            }
            return StageGeometry(
                index: m,
                inChannels: m == 0 ? inChans : embedDims[m - 1],
                embedKernel: m == 0 ? patchSize : 2,
                height: height, width: width,
                keyHeight: height / srRatios[m], keyWidth: width / srRatios[m],
                dim: embedDims[m], heads: numHeads[m], hidden: embedDims[m] * mlpRatios[m],
                depth: depths[m], numVA: numVA[m], srRatio: srRatios[m],
                hasAttentionResidual: m > 0 && attentionResidual)
        }
    }
}
