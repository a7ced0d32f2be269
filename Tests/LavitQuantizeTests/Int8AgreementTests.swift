import Glibc
import LavitFloat
import LavitInt8
import LavitModel
import LavitModelFile
import LavitQuantize
import Testing

/// The quantizer's model files run on the int8 engine and land close to the float model: the
/// whole chain of scales, fused biases, multipliers and tables is only right if this holds.
@Suite struct Int8AgreementTests {
    struct Comparison {
        var agree = 0
        var images = 0
        /// Disagreements on images whose float top-1 leads the runner-up by more than 4x the RMS
        /// logit error of that image.
        var clearMisses = 0
        var signal = 0.0
        var noise = 0.0
        /// Per tap, the same sums over int8 codes dequantized with the metadata's scales.
        var taps: [String: (signal: Double, noise: Double)] = [:]

        var sqnr: Double { 10 * log10(signal / noise) }
    }

    static func compare(_ name: String, calibration: Int, evaluation: Int) throws -> Comparison {
        let weights = try Fixtures.weights(name)
        let config = weights.config
        let stats = try Calibrator(weights: weights).calibrate(
            images: Fixtures.randomImages(config, count: calibration, seed: 21))
        let bytes = try Quantizer.quantize(
            weights: weights, stats: stats, labels: (0..<config.numClasses).map { "c\($0)" }, sourceSHA256: "")
            .serialize()
        let file = try ModelFile.parse(bytes: bytes)
        let scales = try file.decodeMetadata(ScalesOnly.self)
        let engine = try Int8Engine(modelFile: file)
        let float = FloatEngine(weights: weights)

        var result = Comparison()
        for image in Fixtures.randomImages(config, count: evaluation, seed: 99) {
            var floatTaps: [String: Tensor] = [:]
            let reference = try float.forward(input: FloatInput.make(u8: image, config: config)) { tap, t in
                floatTaps[tap.description] = t
            }.logits.data.map(Double.init)
            var tapSums = result.taps
            let logits = try image.withUnsafeBufferPointer { pixels in
                try engine.infer(image: pixels) { tap in
                    let name = tap.id.description
                    guard let sz = scales.scales[name], let want = floatTaps[name], tap.id.site != .logits,
                        want.count == tap.shape.elementCount
                    else { return }
                    let got = tap.integers.map { sz[0] * Double($0 - Int(sz[1])) }
                    var sums = tapSums[name] ?? (0, 0)
                    for (g, w) in zip(got, want.data) {
                        sums.signal += Double(w) * Double(w)
                        sums.noise += (g - Double(w)) * (g - Double(w))
                    }
                    tapSums[name] = sums
                }.map { Double($0) * scales.logit_scale }
            }
            result.taps = tapSums
            result.images += 1
            let top = reference.indices.max { reference[$0] < reference[$1] } ?? 0
            let noise = zip(logits, reference).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let lead = reference[top] - (reference.indices.filter { $0 != top }.map { reference[$0] }.max() ?? 0)
            if logits.indices.max(by: { logits[$0] < logits[$1] }) == top {
                result.agree += 1
            } else if lead > 4 * (noise / Double(reference.count)).squareRoot() {
                result.clearMisses += 1
            }
            result.signal += reference.reduce(0) { $0 + $1 * $1 }
            result.noise += noise
        }
        return result
    }

    struct ScalesOnly: Decodable {
        var scales: [String: [Double]]
        var logit_scale: Double
    }

    @Test(arguments: ["multi", "rect", "plain"])
    func int8LogitsFollowFloat(name: String) throws {
        let c = try Self.compare(name, calibration: 16, evaluation: 16)
        let worst = c.taps.map { ($0.key, 10 * log10($0.value.signal / max($0.value.noise, 1e-30))) }
            .sorted { $0.1 < $1.1 }.prefix(5).map { "\($0.0) \(Int($0.1)) dB" }.joined(separator: ", ")
        #expect(c.sqnr > 15, "\(name): logit SQNR \(c.sqnr) dB; weakest taps: \(worst)")
        // Random models on random images often have near-ties at the top; a class must survive
        // wherever float's lead is clear of the int8 noise.
        #expect(c.clearMisses == 0, "\(name): \(c.clearMisses) images changed class despite a clear lead; weakest taps: \(worst)")
        #expect(c.agree * 3 >= c.images * 2, "\(name): top-1 agreement \(c.agree)/\(c.images); weakest taps: \(worst)")
    }
}
