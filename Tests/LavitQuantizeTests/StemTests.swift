import LavitFloat
import LavitModel
import LavitModelFile
@testable import LavitQuantize
import Testing

/// The stem reads raw pixels: its weights carry the input normalisation, its bias the mean and
/// the `u - 128` offset. Run as integers, it must reproduce the float `embed.proj` tap.
@Suite struct StemTests {
    @Test func integerStemMatchesFloatEmbedding() throws {
        let weights = try Fixtures.weights("multi")
        let config = weights.config
        let (c, h, w, k) = (config.inChans, config.imageSize[0], config.imageSize[1], config.patchSize)
        // The golden input as pixels: undo the normalisation, round, clamp.
        let golden = try #require(try Fixtures.golden("multi")["input"])
        var u8 = [UInt8](repeating: 0, count: h * w * c)
        for ch in 0..<c {
            for p in 0..<(h * w) {
                let pixel = (Double(golden.data[ch * h * w + p]) * config.inputStd[ch] + config.inputMean[ch]) * 255
                u8[p * c + ch] = UInt8(max(0, min(255, pixel.rounded())))
            }
        }
        let images = [u8] + Fixtures.randomImages(config, count: 7, seed: 5)
        let stats = try Calibrator(weights: weights).calibrate(images: images)
        let file = try ModelFile.parse(bytes: Quantizer.quantize(
            weights: weights, stats: stats, labels: (0..<10).map { "\($0)" }, sourceSHA256: "").serialize())

        var tap: Tensor?
        _ = try FloatEngine(weights: weights).forward(input: FloatInput.make(u8: u8, config: config)) { point, t in
            if point.description == "stages.0.embed.proj" { tap = t }
        }
        let want = try #require(tap)

        let layer = "stages.0.embed.proj"
        let zOut = try file.int64("\(layer).p")[0]
        let rows = (h / k) * (w / k)
        let y = IntegerKernels.gemm(
            x: IntegerKernels.stemPatches(u8, height: h, width: w, channels: c, kernel: k), rows: rows,
            w: Array(try file.int8("\(layer).w")), b: Array(try file.int32("\(layer).b")),
            m: Array(try file.int32("\(layer).m")), s: Array(try file.int32("\(layer).s")), zOut: zOut)
        let output = RangeSearch.asymmetric(try #require(stats[layer]))
        #expect(Int64(output.zeroPoint) == zOut)

        var within = 0
        var worstUnclipped = 0.0
        for (i, q) in y.enumerated() {
            let float = Double(want.data[i])
            let error = abs(output.dequantize(Int(q)) - float) / output.scale
            if error <= 2 { within += 1 }
            if float > output.dequantize(-128) && float < output.dequantize(127) {
                worstUnclipped = max(worstUnclipped, error)
            }
        }
        #expect(Double(within) >= 0.98 * Double(y.count), "\(within) of \(y.count) within 2 LSB")
        #expect(worstUnclipped <= 2, "worst unclipped error \(worstUnclipped) LSB")
    }
}
