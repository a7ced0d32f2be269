import FoundationEssentials
import Glibc
import LavitCheckpoint
import LavitFloat
import LavitModel
import Testing

/// The Swift engine against PyTorch, through every checkpoint format the golden configs ship.
@Suite struct GoldenTests {
    /// Float32 engines summing in different orders agree to a few ulps of the values involved.
    /// Measured: at most 5.3e-7 of the range (logits) and 4.2e-7 (stage activations); 2e-6 leaves
    /// about 4x margin for other summation orders and nothing more.
    static let tolerance: Float = 2e-6

    @Test(arguments: Golden.configs, Golden.checkpoints)
    func matchesPyTorch(config: String, file: String) throws {
        let weights = try Golden.weights(config, file)
        let golden = try Golden.vectors(config)
        let input = try #require(golden["input"])
        let output = try FloatEngine(weights: weights).forward(input: input)

        let logits = try #require(golden["logits"])
        #expect(output.logits.count == logits.count)
        let (error, range) = maxError(output.logits, logits)
        #expect(error <= Self.tolerance * range, "\(config)/\(file) logits: max error \(error), range \(range)")

        #expect(output.stages.count == weights.config.stageCount)
        for (m, stage) in output.stages.enumerated() {
            let reference = try #require(golden["stage\(m)"])
            #expect(stage.shape == reference.shape, "\(config) stage \(m)")
            let (error, range) = maxError(stage, reference)
            #expect(error <= Self.tolerance * range, "\(config)/\(file) stage \(m): max error \(error), range \(range)")
        }
    }

    /// The config a checkpoint records is the one its fixture directory publishes as JSON.
    @Test(arguments: Golden.configs)
    func recordedConfigIsTheFixtureConfig(config: String) throws {
        let json = try Checkpoint.load(path: Golden.path(config, "model.safetensors")).config
        let bytes = try readFile(Golden.path(config, "config.json"))
        #expect(json == (try JSONDecoder().decode(Config.self, from: Data(bytes))))
    }
}

private func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw CannotRead(path: path) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        bytes += chunk[0..<n]
        if n < chunk.count { break }
    }
    return bytes
}

private struct CannotRead: Error {
    var path: String
}
