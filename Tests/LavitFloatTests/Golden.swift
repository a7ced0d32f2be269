import LavitCheckpoint
import LavitModel

/// The golden vectors `Tools/make_golden.py` writes from the PyTorch reference model.
enum Golden {
    static let configs = ["multi", "rect", "plain"]
    /// The float32 checkpoints of each config; every one must reproduce the golden outputs.
    static let checkpoints = ["model.safetensors", "model.pth"]

    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fixtures/golden"
    }()

    static func path(_ config: String, _ file: String) -> String { "\(root)/\(config)/\(file)" }

    static func weights(_ config: String, _ file: String = "model.safetensors") throws -> Weights {
        let checkpoint = try Checkpoint.load(path: path(config, file))
        guard let stored = checkpoint.config else { throw MissingConfig(path: path(config, file)) }
        return try Weights(config: stored, tensors: checkpoint.tensors)
    }

    /// `input`, `logits`, `stage0`, `stage1`, ... as PyTorch computed them.
    static func vectors(_ config: String) throws -> [String: Tensor] {
        try Checkpoint.load(path: path(config, "golden.safetensors")).tensors
    }

    struct MissingConfig: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) records no lavit_config" }
    }
}

/// `max |a - b|` and the range of `b`, the reference.
func maxError(_ a: Tensor, _ b: Tensor) -> (error: Float, range: Float) {
    let error = zip(a.data, b.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    let range = (b.data.max() ?? 0) - (b.data.min() ?? 0)
    return (error, range)
}
