import LavitModel
import Testing

@Suite struct WeightsTests {
    /// Zero tensors of exactly the schema's names and shapes.
    func tensors(_ config: Config) throws -> [String: Tensor] {
        let schema = try ParameterSchema(config: config)
        return Dictionary(uniqueKeysWithValues: schema.entries.map { ($0.name, Tensor(zeros: $0.shape)) })
    }

    @Test func bindsExactSchema() throws {
        let w = try Weights(config: smallConfig, tensors: tensors(smallConfig))
        #expect(w.stages.count == 3)
        #expect(w.stages.map { $0.blocks.count } == [2, 3, 2])
        #expect(w.stages[0].attentionResidual == nil && w.stages[1].attentionResidual != nil)
        #expect(w.stages[0].blocks[0].attention.reduction?.sr.kernel == 4)
        #expect(w.stages[2].blocks[0].attention.reduction == nil)
        guard case .less(_, let theta, let psi) = w.stages[1].blocks[2].attention.mixing else {
            Issue.record("stages.1.blocks.2 should be LA")
            return
        }
        #expect(theta.weight.shape == [4, 4] && psi.weight.shape == [16, 16] && psi.bias == nil)
        guard case .vanilla(_, let kv) = w.stages[1].blocks[1].attention.mixing else {
            Issue.record("stages.1.blocks.1 should be VA")
            return
        }
        #expect(kv.outFeatures == 64 && kv.inFeatures == 32)
        #expect(w.head.weight.shape == [10, 48])
        #expect(w.stages[0].embed.matrix.weight.shape == [16, 48])
    }

    @Test func reportsEveryProblemByName() throws {
        var t = try tensors(smallConfig)
        t["stages.1.blocks.0.attn.q.weight"] = nil
        t["stages.2.embed.norm.bias"] = nil
        t["stages.0.blocks.1.attn.psi.bias"] = Tensor(zeros: [64])
        t["module.head.bias"] = t.removeValue(forKey: "head.bias")
        t["head.weight"] = Tensor(zeros: [10, 32])
        let error = #expect(throws: WeightsError.self) { try Weights(config: smallConfig, tensors: t) }
        #expect(error == .mismatch(
            config: "small",
            missing: ["stages.1.blocks.0.attn.q.weight", "stages.2.embed.norm.bias", "head.bias"],
            unexpected: ["module.head.bias", "stages.0.blocks.1.attn.psi.bias"],
            misShaped: [.init(name: "head.weight", shape: [10, 32], expected: [10, 48])]))
        #expect(error?.description == "checkpoint does not match config 'small': "
            + "missing stages.1.blocks.0.attn.q.weight, stages.2.embed.norm.bias, head.bias; "
            + "unexpected module.head.bias, stages.0.blocks.1.attn.psi.bias; "
            + "shape of head.weight is [10, 32], expected [10, 48]")
    }

    @Test func longListsAreCounted() throws {
        var t = try tensors(smallConfig)
        let dropped = t.keys.filter { $0.hasPrefix("stages.1.") }
        for name in dropped { t[name] = nil }
        for name in ["stages.0.embed.proj.bias", "stages.0.embed.norm.weight", "stages.0.embed.norm.bias",
                     "norm.weight", "norm.bias", "head.bias"] {
            t[name] = Tensor(zeros: [1])
        }
        let message = try #require(#expect(throws: WeightsError.self) { try Weights(config: smallConfig, tensors: t) })
            .description
        #expect(message.contains("missing stages.1.embed.proj.weight, stages.1.embed.proj.bias, "
            + "stages.1.embed.norm.weight, stages.1.embed.norm.bias and \(dropped.count - 4) more;"))
        #expect(message.hasSuffix("; and 2 more mis-shaped"))
        #expect(!message.contains("\n"))
    }

    @Test func invalidConfigIsReportedAsSuch() {
        let bad = small { $0.numVA[0] = 3 }
        #expect(throws: WeightsError.invalidConfig(name: "small", .numVAOutOfRange(stage: 0, numVA: 3, depth: 2))) {
            try Weights(config: bad, tensors: [:])
        }
    }
}
