import LavitCheckpoint
import LavitModel
import Testing

/// Binding real checkpoints: every problem is named at once.
@Suite struct CheckpointBindingTests {
    @Test func editedCheckpointNamesEachProblem() throws {
        let checkpoint = try Checkpoint.load(path: Golden.path("multi", "model.safetensors"))
        let config = try #require(checkpoint.config)
        var tensors = checkpoint.tensors
        tensors["stages.1.blocks.0.attn.q.weight"] = nil
        tensors["head.b"] = tensors.removeValue(forKey: "head.bias")
        tensors["norm.weight"] = Tensor(zeros: [1, 24])
        let error = #expect(throws: WeightsError.self) { try Weights(config: config, tensors: tensors) }
        #expect(error?.description == "checkpoint does not match config 'multi': "
            + "missing stages.1.blocks.0.attn.q.weight, head.bias; unexpected head.b; "
            + "shape of norm.weight is [1, 24], expected [24]")
    }

    @Test func anotherModelsCheckpointIsRefusedInOneLine() throws {
        let multi = try #require(try Checkpoint.load(path: Golden.path("multi", "model.safetensors")).config)
        let rect = try Checkpoint.load(path: Golden.path("rect", "model.pth")).tensors
        let message = try #require(#expect(throws: WeightsError.self) { try Weights(config: multi, tensors: rect) })
            .description
        #expect(message.hasPrefix("checkpoint does not match config 'multi': "))
        #expect(message.contains("shape of stages.0.pos_embed is [1, 140, 8], expected [1, 64, 8]"))
        #expect(message.contains("more"))
        #expect(!message.contains("\n"))
    }
}
