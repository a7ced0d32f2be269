import Glibc
import LavitCheckpoint
import LavitModel
import LavitTestSupport

/// The golden configs `Tools/make_golden.py` writes, loaded through the checkpoint importer.
enum Fixtures {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fixtures/golden"
    }()

    static func path(_ config: String, _ file: String) -> String { "\(root)/\(config)/\(file)" }

    static func checkpoint(_ config: String) throws -> Checkpoint {
        try Checkpoint.load(path: path(config, "model.safetensors"))
    }

    static func weights(_ config: String) throws -> Weights {
        let checkpoint = try checkpoint(config)
        guard let stored = checkpoint.config else { throw MissingConfig(config: config) }
        return try Weights(config: stored, tensors: checkpoint.tensors)
    }

    /// `input`, `logits`, ... as PyTorch computed them.
    static func golden(_ config: String) throws -> [String: Tensor] {
        try Checkpoint.load(path: path(config, "golden.safetensors")).tensors
    }

    /// Uniformly random uint8 frames `(H, W, in_chans)`, the same for the same seed.
    static func randomImages(_ config: Config, count: Int, seed: UInt64) -> [[UInt8]] {
        var rng = TestRNG(seed: seed)
        let size = config.imageSize[0] * config.imageSize[1] * config.inChans
        return (0..<count).map { _ in (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) } }
    }

    /// Random weights for `config` in the spirit of the golden fixtures (fan-in scaled normals,
    /// norms near 1/0), for models no fixture ships.
    static func randomWeights(_ config: Config, seed: UInt64) throws -> Weights {
        var rng = TestRNG(seed: seed)
        var tensors: [String: Tensor] = [:]
        for entry in try ParameterSchema(config: config).entries {
            let isNorm = entry.name.hasSuffix("norm.weight") || entry.name.hasSuffix("norm1.weight")
                || entry.name.hasSuffix("norm2.weight")
            let fanIn = entry.shape.count > 1 ? entry.shape.dropFirst().reduce(1, *) : 1
            let std = entry.shape.count > 1 ? 1 / Double(fanIn).squareRoot() : 0.1
            let data = (0..<entry.count).map { _ in Float((isNorm ? 1 : 0) + std * rng.normal()) }
            tensors[entry.name] = Tensor(shape: entry.shape, data: data)
        }
        return try Weights(config: config, tensors: tensors)
    }

    struct MissingConfig: Error, CustomStringConvertible {
        var config: String
        var description: String { "\(config)/model.safetensors records no lavit_config" }
    }
}

/// The shared seeded generator, with a Box-Muller normal for test data.
typealias TestRNG = LavitTestSupport.SplitMix64

extension LavitTestSupport.SplitMix64 {
    /// Uniform in (0, 1).
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 0x1p53 }

    mutating func normal() -> Double {
        (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
    }
}
