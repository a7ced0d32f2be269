import FoundationEssentials
import Glibc
import LavitFloat
import LavitModel
import LavitModelFile
@testable import LavitQuantize
import Testing

/// Quantize the golden models, write the file, read it back, and hold it against QUANT.md's
/// "Model-file contents" table, written out here from the text.
@Suite struct EndToEndTests {
    struct Metadata: Decodable {
        struct Preprocess: Decodable, Equatable {
            var channels: Int
            var height: Int
            var width: Int
            var crop: String
        }

        var format: String
        var quant_version: Int
        var lavit_config: Config
        var labels: [String]
        var preprocess: Preprocess
        var source_sha256: String
        var scales: [String: [Double]]
        var logit_scale: Double
    }

    /// Every tensor QUANT.md requires for `config`, with its dtype and shape.
    static func required(_ config: Config) throws -> [String: (DType, [Int])] {
        var out: [String: (DType, [Int])] = [:]
        func gemm(_ name: String, _ o: Int, _ k: Int, zeroPoint: Bool = true) {
            out["\(name).w"] = (.int8, [o, k])
            for suffix in ["b", "m", "s"] { out["\(name).\(suffix)"] = (.int32, [o]) }
            if zeroPoint { out["\(name).p"] = (.int64, [1]) }
        }
        func layerNorm(_ name: String, _ c: Int) {
            out["\(name).g"] = (.int32, [c])
            out["\(name).bb"] = (.int64, [c])
            out["\(name).p"] = (.int64, [4])
        }
        func params(_ name: String, _ n: Int) { out["\(name).p"] = (.int64, [n]) }
        let stages = try config.stageGeometry()
        for g in stages {
            let (c, n, nk, stage) = (g.dim, g.tokens, g.keys, "stages.\(g.index)")
            gemm("\(stage).embed.proj", c, g.inChannels * g.embedKernel * g.embedKernel)
            layerNorm("\(stage).embed.norm", c)
            out["\(stage).pos_embed.q"] = (.int8, [n, c])
            params("\(stage).pos_add", 6)
            if g.hasAttentionResidual {
                let h0 = stages[g.index - 1].heads
                gemm("\(stage).attn_residual.dw", h0, 4)
                gemm("\(stage).attn_residual.pw", g.heads, h0)
            }
            for i in 0..<g.depth {
                let b = "\(stage).blocks.\(i)"
                layerNorm("\(b).norm1", c)
                if g.srRatio > 1 {
                    gemm("\(b).attn.sr", c, c * g.srRatio * g.srRatio)
                    layerNorm("\(b).attn.norm", c)
                }
                if g.isVA(block: i) {
                    gemm("\(b).attn.q", c, c)
                    gemm("\(b).attn.kv", 2 * c, c)
                    params("\(b).attn.qk", 2)
                    if i == 0 && g.hasAttentionResidual { params("\(b).attn.ar_add", 6) }
                } else {
                    gemm("\(b).attn.v", c, c)
                    gemm("\(b).attn.theta", nk, nk)
                    gemm("\(b).attn.psi", n, n)
                }
                out["\(b).attn.softmax.exp"] = (.int32, [256])
                params("\(b).attn.pv", 2)
                gemm("\(b).attn.proj", c, c)
                params("\(b).add1", 6)
                layerNorm("\(b).norm2", c)
                gemm("\(b).mlp.fc1", g.hidden, c)
                out["\(b).mlp.gelu.t"] = (.int8, [256])
                gemm("\(b).mlp.fc2", c, g.hidden)
                params("\(b).add2", 6)
            }
        }
        layerNorm("norm", stages[stages.count - 1].dim)
        params("pool", 4)
        gemm("head", config.numClasses, stages[stages.count - 1].dim, zeroPoint: false)
        return out
    }

    @Test(arguments: ["multi", "rect", "plain"])
    func quantizedFileHoldsExactlyTheRequiredTensors(name: String) throws {
        let checkpoint = try Fixtures.checkpoint(name)
        let weights = try Fixtures.weights(name)
        let config = weights.config
        let images = Fixtures.randomImages(config, count: 16, seed: 7)
        let stats = try Calibrator(weights: weights).calibrate(images: images)
        let labels = (0..<config.numClasses).map { "class \($0)" }
        let writer = try Quantizer.quantize(
            weights: weights, stats: stats, labels: labels, sourceSHA256: checkpoint.sha256)

        let path = "/tmp/lavit-quantize-test-\(getpid())-\(name).lvt"
        defer { unlink(path) }
        try writer.write(path: path)
        let file = try ModelFile.load(path: path)

        let required = try Self.required(config)
        let stored = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        #expect(Set(stored.keys).subtracting(required.keys).sorted() == [])
        #expect(Set(required.keys).subtracting(stored.keys).sorted() == [])
        for (tensor, (dtype, shape)) in required {
            guard let entry = stored[tensor] else { continue }
            #expect(entry.dtype == dtype && entry.shape == shape, "\(tensor): \(entry.dtype) \(entry.shape)")
        }

        let metadata = try file.decodeMetadata(Metadata.self)
        #expect(metadata.format == "lavit-int8" && metadata.quant_version == 2)
        #expect(metadata.lavit_config == config)
        #expect(metadata.labels == labels)
        #expect(metadata.preprocess == .init(
            channels: config.inChans, height: config.imageSize[0], width: config.imageSize[1], crop: "center"))
        #expect(metadata.source_sha256 == checkpoint.sha256 && checkpoint.sha256.count == 64)
        #expect(metadata.logit_scale > 0)
        for (tap, sz) in metadata.scales {
            #expect(sz.count == 2 && sz[0] > 0 && sz[0].isFinite && (-128...127).contains(sz[1]), "\(tap)")
            if ScaleTable.isSymmetric(tap) { #expect(sz[1] == 0, "\(tap) is symmetric") }
        }
        // Every layer's output (k and v for kv) and every pos_embed has a scale to report.
        for layer in Set(required.keys.map { String($0[..<($0.lastIndex(of: ".") ?? $0.endIndex)]) }) {
            if layer.hasSuffix(".attn.kv") {
                let block = layer.dropLast(3)
                #expect(metadata.scales["\(block).k"] != nil && metadata.scales["\(block).v"] != nil, "\(layer)")
            } else {
                #expect(metadata.scales[layer] != nil, "\(layer) has no reported scale")
            }
        }
        let modelFileBytes = writer.serialize()
        #expect(try ModelFile.parse(bytes: modelFileBytes).tensors == file.tensors)
    }

    @Test func sameInputsGiveTheSameBytes() throws {
        let weights = try Fixtures.weights("multi")
        let images = Fixtures.randomImages(weights.config, count: 4, seed: 3)
        let labels = (0..<10).map { "c\($0)" }
        func bytes(threads: Int) throws -> [UInt8] {
            let stats = try Calibrator(weights: weights, threads: threads).calibrate(images: images)
            return try Quantizer.quantize(weights: weights, stats: stats, labels: labels, sourceSHA256: "00").serialize()
        }
        #expect(try bytes(threads: 1) == bytes(threads: 2))
    }

    @Test func labelCountAndMissingStatisticsAreOneLineErrors() throws {
        let weights = try Fixtures.weights("multi")
        let stats = try Calibrator(weights: weights).calibrate(images: Fixtures.randomImages(weights.config, count: 1, seed: 1))
        #expect(throws: QuantizeError.labelCount(got: 2, expected: 10)) {
            try Quantizer.quantize(weights: weights, stats: stats, labels: ["a", "b"], sourceSHA256: "")
        }
        var partial = stats
        partial.taps["stages.1.blocks.0.attn.ar_add"] = nil
        let error = #expect(throws: QuantizeError.self) {
            try Quantizer.quantize(weights: weights, stats: partial, labels: (0..<10).map { "\($0)" }, sourceSHA256: "")
        }
        #expect(error?.description == "stages.1.blocks.0.attn.ar_add: no calibration statistics for this tap")
    }
}
