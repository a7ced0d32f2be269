import LavitInt8
import LavitKernels
import LavitModel
import LavitModelFile
import Testing

/// The Swift engine against the Python integer reference: equal bit for bit, or the message names
/// the first tensor, in graph order, that differs and where. Run for every x86 kernel variant
/// (the suites below), each also with two threads.
enum GoldenTests {
    /// Golden tensor name for an engine tap, where the golden file records that tap.
    static func goldenName(_ tap: TapPoint, stages: [StageGeometry]) -> String? {
        guard let m = tap.stage, let i = tap.block else { return nil }
        switch tap.site {
        case .scores: return "scores.\(m).\(i)"
        case .probabilities: return "probs.\(m).\(i)"
        case .add2 where i == stages[m].depth - 1: return "stage\(m)"
        default: return nil
        }
    }

    static func bitExact(config: String, kernels: Kernels, threads: Int) throws {
        let engine = try Int8Engine(
            model: Int8Model(modelFile: Int8Golden.model(config), kernels: kernels), threads: threads, parallelWork: 0)
        let golden = try Int8Golden.vectors(config)
        let c = engine.model.config
        // The stage outputs, scores and probabilities recorded for `input`.
        let recorded = Set(golden.tensors.map(\.name).filter { name in
            ["stage", "scores.", "probs."].contains { name.hasPrefix($0) }
        })
        var inputs = 0
        for (input, logitsName) in [("input", "logits"), ("input2", "logits2")] {
            guard let entry = golden.tensor(named: input) else { continue }
            #expect(entry.shape == [c.imageSize[0], c.imageSize[1], c.inChans], "\(config) \(input)")
            var mismatches: [String] = []
            var compared: Set<String> = []
            let logits = Array(try engine.infer(image: try golden.uint8(input)) { tap in
                guard input == "input", let name = Self.goldenName(tap.id, stages: engine.model.stages),
                      recorded.contains(name), let expected = try? Self.integers(golden, name) else { return }
                compared.insert(name)
                if let problem = Self.difference(tap.integers, expected, shape: tap.shape.dims) {
                    mismatches.append("\(name) (\(tap.id)) \(problem)")
                }
            })
            let expected = try Self.integers(golden, logitsName)
            if let problem = Self.difference(logits.map(Int.init), expected, shape: [expected.count]) {
                mismatches.append("\(logitsName) \(problem)")
            }
            #expect(mismatches.isEmpty, "\(config) \(input): first mismatch \(mismatches.first ?? ""); \(mismatches.count) tensors differ")
            if input == "input" {
                #expect(compared == recorded, "\(config): golden tensors never reached: \(recorded.subtracting(compared).sorted())")
            }
            inputs += 1
        }
        #expect(inputs > 0, "\(config): golden.lvt has no input")
    }

    /// The first differing index as a multi-index, or nil when equal.
    static func difference(_ got: [Int], _ expected: [Int], shape: [Int]) -> String? {
        guard got.count == expected.count else { return "has \(got.count) elements, golden \(expected.count)" }
        guard let i = got.indices.first(where: { got[$0] != expected[$0] }) else { return nil }
        var index: [Int] = []
        var rest = i
        for d in shape.reversed() { index.insert(rest % d, at: 0); rest /= d }
        let count = zip(got, expected).filter { $0 != $1 }.count
        return "at \(index) (flat \(i)): engine \(got[i]), golden \(expected[i]); \(count) of \(got.count) differ"
    }

    static func integers(_ file: ModelFile, _ name: String) throws -> [Int] {
        guard let entry = file.tensor(named: name) else { throw MissingTensor(name: name) }
        switch entry.dtype {
        case .int8: return try file.int8(name).map(Int.init)
        case .uint8: return try file.uint8(name).map(Int.init)
        case .int16: return try file.int16(name).map(Int.init)
        case .int32: return try file.int32(name).map(Int.init)
        case .int64: return try file.int64(name).map(Int.init)
        default: throw MissingTensor(name: "\(name) as an integer tensor")
        }
    }

    struct MissingTensor: Error, CustomStringConvertible {
        var name: String
        var description: String { "golden has no tensor '\(name)'" }
    }
}

@Suite struct ScalarGoldenTests {
    @Test(arguments: Int8Golden.configs, [1, 2])
    func bitExact(config: String, threads: Int) throws { try GoldenTests.bitExact(config: config, kernels: .scalar, threads: threads) }
}

@Suite(.enabled(if: Kernels.avx2.isSupported, Comment(rawValue: Kernels.avx2.unsupportedReason ?? "")))
struct AVX2GoldenTests {
    @Test(arguments: Int8Golden.configs, [1, 2])
    func bitExact(config: String, threads: Int) throws { try GoldenTests.bitExact(config: config, kernels: .avx2, threads: threads) }
}

@Suite(.enabled(if: Kernels.avxVNNI.isSupported, Comment(rawValue: Kernels.avxVNNI.unsupportedReason ?? "")))
struct AVXVNNIGoldenTests {
    @Test(arguments: Int8Golden.configs, [1, 2])
    func bitExact(config: String, threads: Int) throws { try GoldenTests.bitExact(config: config, kernels: .avxVNNI, threads: threads) }
}

@Suite(.enabled(if: Kernels.avx512VNNI.isSupported, Comment(rawValue: Kernels.avx512VNNI.unsupportedReason ?? "")))
struct AVX512VNNIGoldenTests {
    @Test(arguments: Int8Golden.configs, [1, 2])
    func bitExact(config: String, threads: Int) throws { try GoldenTests.bitExact(config: config, kernels: .avx512VNNI, threads: threads) }
}
