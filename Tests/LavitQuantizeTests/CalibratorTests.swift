import LavitFloat
import LavitModel
@testable import LavitQuantize
import Testing

/// Calibration statistics: exact ranges, bounded deterministic samples, and the input view.
@Suite struct CalibratorTests {
    @Test func floatInputIsNormalisedChannelMajor() throws {
        let config = try Fixtures.weights("multi").config
        let (h, w) = (config.imageSize[0], config.imageSize[1])
        let u8 = (0..<(h * w * 3)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let t = try FloatInput.make(u8: u8, config: config)
        #expect(t.shape == [3, h, w])
        for (y, x, c) in [(0, 0, 0), (3, 5, 1), (h - 1, w - 1, 2)] {
            let u = Double(u8[(y * w + x) * 3 + c])
            let want = (u / 255 - config.inputMean[c]) / config.inputStd[c]
            #expect(t.data[(c * h + y) * w + x] == Float(want))
        }
        #expect(throws: QuantizeError.imageSize(index: 0, got: 5, expected: h * w * 3)) {
            try FloatInput.make(u8: [1, 2, 3, 4, 5], config: config)
        }
    }

    @Test func rangesAreExactAndSamplesBoundedAndThreadIndependent() throws {
        let weights = try Fixtures.weights("multi")
        let images = Fixtures.randomImages(weights.config, count: 5, seed: 11)
        let cap = 1000
        let one = try Calibrator(weights: weights, samplesPerTap: cap, threads: 1).calibrate(images: images)
        let two = try Calibrator(weights: weights, samplesPerTap: cap, threads: 2).calibrate(images: images)
        #expect(one.taps == two.taps)
        #expect(one.imageCount == 5)

        var seen: [String: (min: Float, max: Float, count: Int)] = [:]
        for image in images {
            let input = try FloatInput.make(u8: image, config: weights.config)
            _ = try FloatEngine(weights: weights).forward(input: input) { tap, tensor in
                let name = tap.description
                let (lo, hi) = (tensor.data.min()!, tensor.data.max()!)
                let old = seen[name] ?? (.infinity, -.infinity, 0)
                seen[name] = (min(old.min, lo), max(old.max, hi), old.count + tensor.count)
            }
        }
        #expect(one.taps["stages.0.blocks.0.attn.scores"] == nil && one.taps["stages.0.blocks.0.attn.softmax"] == nil)
        #expect(Set(one.taps.keys) == Set(seen.keys.filter { !$0.hasSuffix("attn.scores") && !$0.hasSuffix("attn.softmax") }))
        for (name, stats) in one.taps {
            let want = try #require(seen[name])
            #expect(stats.min == want.min && stats.max == want.max && stats.count == want.count, "\(name)")
            #expect(stats.sample.count <= cap, "\(name)")
            #expect(stats.sample.allSatisfy { $0 >= stats.min && $0 <= stats.max }, "\(name)")
            #expect(stats.finite)
        }
        // Small taps are kept whole: the 10 logits of 5 images.
        #expect(one.taps["head"]?.sample.count == 50)
        // Large ones are drawn evenly: 1000 / 5 values from each image.
        #expect(one.taps["stages.0.embed.proj"]?.sample.count == 1000)
    }

    @Test func wrongImageSizeAndNoImagesAreErrors() throws {
        let weights = try Fixtures.weights("multi")
        var images = Fixtures.randomImages(weights.config, count: 3, seed: 1)
        images[2].removeLast()
        #expect(throws: QuantizeError.imageSize(index: 2, got: 32 * 32 * 3 - 1, expected: 32 * 32 * 3)) {
            try Calibrator(weights: weights).calibrate(images: images)
        }
        #expect(throws: QuantizeError.noCalibrationImages) { try Calibrator(weights: weights).calibrate(images: []) }
    }

    @Test func observerFlagsNonFiniteValues() {
        var rng = SplitMix64(seed: 1)
        let values: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, .nan, 0]
        #expect(!TapObserver.observe(values, quota: 4, rng: &rng).finite)
        let stats = TapObserver.observe([3, -1, 2, 9, 4, 4, 4, 4, 4, -7, 1], quota: 4, rng: &rng)
        #expect(stats.finite && stats.min == -7 && stats.max == 9 && stats.sample.count == 4 && stats.count == 11)
    }
}
