import Glibc
import LavitInt8
import LavitModel
import LavitModelFile
import Testing
import LavitTestSupport

/// Timings, printed, not asserted: run with `LAVIT_INT8_BENCH=1 swift test -c release --filter
/// BenchmarkTests`. A debug build times the debug checks, not the kernels.
@Suite(.enabled(if: getenv("LAVIT_INT8_BENCH") != nil, "set LAVIT_INT8_BENCH=1 to time inference"))
struct BenchmarkTests {
    static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func time(_ name: String, _ engine: Int8Engine, runs: Int) throws {
        var rng = SplitMix64(seed: 11)
        let image = rng.bytes(engine.model.inputByteCount)
        var times: [Double] = []
        try image.withUnsafeBufferPointer { image in
            _ = try engine.infer(image: image)
            for _ in 0..<runs {
                let start = seconds()
                _ = try engine.infer(image: image)
                times.append(seconds() - start)
            }
        }
        times.sort()
        let median = times[times.count / 2] * 1000
        print("int8 \(engine.kernels.rawValue) \(name): median \(median) ms over \(runs) runs (min \(times[0] * 1000) ms), arena \(engine.arenaByteCount) bytes")
    }

    @Test func goldenAndSyntheticConfigs() throws {
        for config in Int8Golden.configs { try Self.time("golden \(config)", Int8Engine(modelFile: Int8Golden.model(config)), runs: 21) }
        for config in SyntheticConfigs.all { try Self.time("synthetic \(config.name)", Int8Engine(modelFile: SyntheticModel.modelFile(config)), runs: 21) }
    }

    @Test func shippedModel() throws {
        try Self.time("lavit-fashion (the shipped model)", Int8Engine(modelFile: Int8Golden.shippedModel()), runs: 201)
    }

    @Test func lavitT() throws {
        let config = try #require(Config.variant(named: "lavit-t"))
        let start = Self.seconds()
        let engine = try Int8Engine(modelFile: SyntheticModel.modelFile(config))
        print("lavit-t synthetic model built and planned in \(Self.seconds() - start) s")
        for region in engine.model.arenaRegions { print("  arena \(region.name): offset \(region.offset), \(region.byteCount) bytes") }
        try Self.time("lavit-t (synthetic weights)", engine, runs: 5)
        for name in Config.variantNames {
            print("arena for \(name): \(try Int8Model.arenaByteCount(for: #require(Config.variant(named: name)))) bytes")
        }
    }
}
