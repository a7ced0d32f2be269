import CAllocationCounter
import LavitInt8
import LavitModel
import LavitModelFile
import Testing
import LavitTestSupport

/// `infer(image:)` must not touch the heap once warm: the daemon runs it per frame for weeks. The
/// counter (Tests/CAllocationCounter) interposes malloc and friends and counts per thread; a
/// synchronous test body stays on one thread, so other tests running meanwhile do not disturb it.
@Suite struct AllocationTests {
    static func engines() throws -> [Int8Engine] {
        var engines = try SyntheticConfigs.all.map { try Int8Engine(modelFile: SyntheticModel.modelFile($0)) }
        for config in Int8Golden.configs { engines.append(try Int8Engine(modelFile: Int8Golden.model(config))) }
        // With a pool the caller's share must not allocate either (workers are counted by the
        // benchmark, whose counter is process-wide).
        engines.append(try Int8Engine(model: Int8Model(modelFile: SyntheticModel.modelFile(SyntheticConfigs.multi)), threads: 2, parallelWork: 0))
        return engines
    }

    @Test func noAllocationAfterWarmUp() throws {
        for engine in try Self.engines() {
            var rng = SplitMix64(seed: 9)
            let image = rng.bytes(engine.model.inputByteCount)
            let (allocations, frees) = try image.withUnsafeBufferPointer { image in
                _ = try engine.infer(image: image)
                lavit_alloc_count_reset()
                for _ in 0..<5 { _ = try engine.infer(image: image) }
                return (lavit_alloc_count(), lavit_free_count())
            }
            #expect(allocations == 0 && frees == 0, "\(engine.model.config.name): \(allocations) allocations, \(frees) frees in 5 inferences")
        }
    }

    /// The counter sees this thread's allocations, so a zero above means something.
    @Test func counterSeesAllocations() {
        lavit_alloc_count_reset()
        let count = Int(lavit_alloc_count()) + 1000
        let array = [Int](repeating: 7, count: count)
        let allocations = lavit_alloc_count()
        withExtendedLifetime(array) {}
        #expect(allocations >= 1)
        #expect(array.count == count)
    }
}
