import Glibc
import LavitModel
import LavitQuantize
import Testing

/// Calibration and quantization time of a LaViT-T-sized model with random weights. Slow, so only
/// on request: `LAVIT_QUANT_BENCH=<images> swift test -c release -Xswiftc -enable-testing
/// --filter SpeedTests` (the budget: 64 images in under 3 minutes on 2 cores).
@Suite struct SpeedTests {
    static let images = getenv("LAVIT_QUANT_BENCH").flatMap { Int(String(cString: $0)) } ?? 0

    @Test(.enabled(if: images > 0)) func lavitT() throws {
        let config = try #require(Config.variant(named: "lavit-t"))
        let weights = try Fixtures.randomWeights(config, seed: 1)
        let images = Fixtures.randomImages(config, count: Self.images, seed: 2)
        let start = Self.now()
        let stats = try Calibrator(weights: weights, threads: 2).calibrate(images: images)
        let calibrated = Self.now()
        let writer = try Quantizer.quantize(
            weights: weights, stats: stats, labels: (0..<1000).map { "\($0)" }, sourceSHA256: "")
        let bytes = writer.serialize()
        let done = Self.now()
        print("""
            lavit-t: \(Self.images) images calibrated in \(calibrated - start) s \
            (\((calibrated - start) / Double(Self.images)) s/image on 2 threads), \
            \(stats.taps.count) taps; quantized in \(done - calibrated) s; \(bytes.count) bytes
            """)
        #expect(bytes.count > 10_000_000)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
