import LavitModel
import Testing

@Suite struct ConfigValidationTests {
    @Test func smallConfigIsValid() throws {
        try smallConfig.validate()
    }

    @Test func geometryFollowsModelMD() throws {
        let g = try small { $0.imageSize = [36, 28] }.stageGeometry()
        // 36/4 = 9, 28/4 = 7; then floor halves: 4x3, 2x1.
        #expect(g.map { [$0.height, $0.width] } == [[9, 7], [4, 3], [2, 1]])
        #expect(g.map(\.tokens) == [63, 12, 2])
        // Keys: 9/4 x 7/4 = 2x1, 4/2 x 3/2 = 2x1, 2/1 x 1/1 = 2x1.
        #expect(g.map { [$0.keyHeight, $0.keyWidth] } == [[2, 1], [2, 1], [2, 1]])
        #expect(g.map(\.headDim) == [16, 16, 16])
        #expect(g.map(\.hidden) == [32, 64, 48])
        #expect(g.map(\.inChannels) == [3, 16, 32])
        #expect(g.map(\.embedKernel) == [4, 2, 2])
        #expect(g.map(\.hasAttentionResidual) == [false, true, true])
        #expect(g[1].isVA(block: 1) && !g[1].isVA(block: 2))
    }

    @Test(arguments: [
        (small { $0.embedDims = []; $0.depths = []; $0.numHeads = []; $0.numVA = []; $0.srRatios = []; $0.mlpRatios = [] },
         ConfigError.noStages),
        (small { $0.depths = [2, 3] }, .stageListLength(field: "depths", count: 2, expected: 3)),
        (small { $0.mlpRatios = [1, 1, 1, 1] }, .stageListLength(field: "mlp_ratios", count: 4, expected: 3)),
        (small { $0.imageSize = [32] }, .imageSizeCount(1)),
        (small { $0.imageSize = [32, 0] }, .notPositive(field: "image_size[1]", stage: nil, value: 0)),
        (small { $0.inChans = 0 }, .inputChannels(0)),
        (small { $0.inChans = 2 }, .inputChannels(2)),
        (small { $0.inChans = 65536 }, .inputChannels(65536)),
        (small { $0.imageSize = [16385, 32] }, .tooLarge(field: "image_size[0]", stage: nil, value: 16385, limit: 16384)),
        (small { $0.imageSize = [32, 65536] }, .tooLarge(field: "image_size[1]", stage: nil, value: 65536, limit: 16384)),
        (small { $0.depths = [1, 1, 1023]; $0.numVA = [1, 1, 1] }, .tooLarge(field: "depths (all stages)", stage: nil, value: 1025, limit: 1024)),
        (small { $0.numClasses = -1 }, .notPositive(field: "num_classes", stage: nil, value: -1)),
        (small { $0.patchSize = 0 }, .notPositive(field: "patch_size", stage: nil, value: 0)),
        (small { $0.embedDims[2] = 0 }, .notPositive(field: "embed_dims", stage: 2, value: 0)),
        (small { $0.depths[1] = 0 }, .notPositive(field: "depths", stage: 1, value: 0)),
        (small { $0.numHeads[0] = 0 }, .notPositive(field: "num_heads", stage: 0, value: 0)),
        (small { $0.numVA[2] = 0 }, .notPositive(field: "num_va", stage: 2, value: 0)),
        (small { $0.srRatios[1] = 0 }, .notPositive(field: "sr_ratios", stage: 1, value: 0)),
        (small { $0.mlpRatios[0] = 0 }, .notPositive(field: "mlp_ratios", stage: 0, value: 0)),
        (small { $0.lnEps = 0 }, .badEpsilon(0)),
        (small { $0.lnEps = .infinity }, .badEpsilon(.infinity)),
        (small { $0.inputMean = [0.5] }, .inputStatsCount(field: "input_mean", count: 1, expected: 3)),
        (small { $0.inputStd = [0.2, 0.2] }, .inputStatsCount(field: "input_std", count: 2, expected: 3)),
        (small { $0.inputStd[1] = 0 }, .badInputStat(field: "input_std", channel: 1, value: 0)),
        (small { $0.inputMean[2] = .infinity }, .badInputStat(field: "input_mean", channel: 2, value: .infinity)),
        (small { $0.numHeads[2] = 5 }, .headsDoNotDivide(stage: 2, dim: 48, heads: 5)),
        (small { $0.numVA[1] = 4 }, .numVAOutOfRange(stage: 1, numVA: 4, depth: 3)),
        (small { $0.imageSize = [32, 12]; $0.srRatios = [1, 1, 1] }, .emptyQueryGrid(stage: 2, height: 2, width: 0)),
        (small { $0.patchSize = 64 }, .emptyQueryGrid(stage: 0, height: 0, width: 0)),
        (small { $0.srRatios[0] = 16; $0.attentionResidual = false }, .emptyKeyGrid(stage: 0, height: 0, width: 0, srRatio: 16)),
        (small { $0.srRatios[2] = 2 }, .keyGridMismatch(stage: 2, height: 1, width: 1, previousHeight: 2, previousWidth: 2)),
    ])
    func brokenRuleIsNamed(config: Config, expected: ConfigError) {
        #expect(throws: expected) { try config.validate() }
    }

    @Test func keyGridsMayDifferWithoutAttentionResidual() throws {
        try small { $0.srRatios[2] = 2; $0.attentionResidual = false }.validate()
    }

    @Test func messagesNameFieldAndStage() {
        let messages = [
            ConfigError.notPositive(field: "depths", stage: 1, value: 0),
            .headsDoNotDivide(stage: 2, dim: 48, heads: 5),
            .keyGridMismatch(stage: 2, height: 1, width: 1, previousHeight: 2, previousWidth: 2),
        ].map(\.description)
        #expect(messages[0] == "depths of stage 1 must be >= 1, got 0")
        #expect(messages[1] == "embed_dims of stage 2 (48) is not divisible by num_heads (5)")
        #expect(messages[2].contains("stage 2 has 1x1") && messages[2].contains("stage 1 has 2x2"))
        #expect(messages.allSatisfy { !$0.contains("\n") })
    }

    /// Sizes that would overflow `Int` arithmetic downstream must be refused, not trapped on.
    @Test(arguments: [
        small { $0.embedDims = [1 << 40, 32, 48] },
        small { $0.depths[0] = 1 << 50 },
        small { $0.imageSize = [Int.max, 32] },
        small { $0.embedDims = Array(repeating: 16, count: 100) },
        // Each field within limits, but Psi alone would be (2^28)^2 parameters.
        Config(
            imageSize: [1 << 14, 1 << 14], numClasses: 10, patchSize: 1, embedDims: [16], depths: [2],
            numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1]),
        // Few parameters, but q k^T alone is (2^24)^2 MACs.
        Config(
            imageSize: [1 << 12, 1 << 12], numClasses: 10, patchSize: 1, embedDims: [1], depths: [1],
            numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1]),
    ])
    func absurdConfigsAreRefused(config: Config) {
        #expect(throws: ConfigError.self) { try config.validate() }
        #expect(throws: ConfigError.self) { try Cost(config: config) }
        #expect(throws: ConfigError.self) { try ParameterSchema(config: config) }
    }

    @Test func limitsNameTheFieldOrQuantity() {
        #expect(throws: ConfigError.tooLarge(field: "embed_dims", stage: 0, value: 1 << 40, limit: Config.Limits.dimension)) {
            try small { $0.embedDims = [1 << 40, 32, 48] }.validate()
        }
        let psi = Config(
            imageSize: [1 << 14, 1 << 14], numClasses: 10, patchSize: 1, embedDims: [16], depths: [2],
            numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1])
        let tooManyParams = #expect(throws: ConfigError.self) { try psi.validate() }
        // Psi alone is (2^28)^2 parameters.
        guard case .modelTooLarge(quantity: "parameters", let params, _)? = tooManyParams else {
            Issue.record("expected too many parameters, got \(String(describing: tooManyParams))")
            return
        }
        #expect(params > 1 << 56)
        let attention = Config(
            imageSize: [1 << 12, 1 << 12], numClasses: 10, patchSize: 1, embedDims: [1], depths: [1],
            numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1])
        let tooManyMACs = #expect(throws: ConfigError.self) { try attention.validate() }
        guard case .modelTooLarge(quantity: "MACs", let count, _)? = tooManyMACs else {
            Issue.record("expected too many MACs, got \(String(describing: tooManyMACs))")
            return
        }
        #expect(count > Config.Limits.macs && count < Int.max)
    }
}
