import FoundationEssentials
import Glibc
import LavitModel
import LavitModelFile
import LavitTestSupport

/// Writes a model file with every tensor QUANT.md "Model-file contents" lists for a config, filled
/// with random values inside QUANT.md's ranges and scaled so activations stay mostly unsaturated.
/// The tensor list here is written from QUANT.md's graph on its own, not from the engine's plan,
/// so a plan that asks for a tensor QUANT.md does not name fails against it.
struct SyntheticModel {
    let config: Config
    private var rng: SplitMix64
    private(set) var writer: ModelFileWriter

    static func bytes(_ config: Config, seed: UInt64 = 1) throws -> [UInt8] {
        var model = try SyntheticModel(config: config, seed: seed)
        try model.addAll()
        return model.writer.serialize()
    }

    static func modelFile(_ config: Config, seed: UInt64 = 1) throws -> ModelFile {
        try ModelFile.parse(bytes: bytes(config, seed: seed), source: "synthetic-\(config.name).lvt")
    }

    private init(config: Config, seed: UInt64) throws {
        self.config = config
        rng = SplitMix64(seed: seed)
        writer = try ModelFileWriter(metadata: Int8TestMetadata(config: config))
    }

    private mutating func addAll() throws {
        let stages = try config.stageGeometry()
        for g in stages {
            let s = "stages.\(g.index)"
            try gemm("\(s).embed.proj", outputs: g.dim, depth: g.inChannels * g.embedKernel * g.embedKernel)
            try layerNorm("\(s).embed.norm", g.dim)
            try add2("\(s).pos_add")
            try writer.add(name: "\(s).pos_embed.q", shape: [g.tokens, g.dim], values: int8s(g.tokens * g.dim, -30...30))
            if g.hasAttentionResidual {
                let h0 = stages[g.index - 1].heads
                try depthwise("\(s).attn_residual.dw", channels: h0)
                try gemm("\(s).attn_residual.pw", outputs: g.heads, depth: h0, symmetric: true)
            }
            for i in 0..<g.depth {
                let b = "\(s).blocks.\(i)"
                try layerNorm("\(b).norm1", g.dim)
                if g.srRatio > 1 {
                    try gemm("\(b).attn.sr", outputs: g.dim, depth: g.dim * g.srRatio * g.srRatio)
                    try layerNorm("\(b).attn.norm", g.dim)
                }
                if g.isVA(block: i) {
                    try gemm("\(b).attn.q", outputs: g.dim, depth: g.dim, symmetric: true)
                    try gemm("\(b).attn.kv", outputs: 2 * g.dim, depth: g.dim, symmetric: true)
                    try requantization("\(b).attn.qk", shift: 36 + log2(g.headDim) / 2)
                    if i == 0 && g.hasAttentionResidual { try add2("\(b).attn.ar_add") }
                } else {
                    try gemm("\(b).attn.v", outputs: g.dim, depth: g.dim, symmetric: true)
                    try gemm("\(b).attn.theta", outputs: g.keys, depth: g.keys)
                    try gemm("\(b).attn.psi", outputs: g.tokens, depth: g.tokens, symmetric: true)
                }
                try softmax("\(b).attn.softmax")
                try requantization("\(b).attn.pv", shift: 39)
                try gemm("\(b).attn.proj", outputs: g.dim, depth: g.dim)
                try add2("\(b).add1")
                try layerNorm("\(b).norm2", g.dim)
                try gemm("\(b).mlp.fc1", outputs: g.hidden, depth: g.dim)
                try writer.add(name: "\(b).mlp.gelu.t", shape: [256], values: (0..<256).map { i -> Int8 in
                    let x = i - 128
                    return Int8(x > 0 ? x : x / 8)
                })
                try gemm("\(b).mlp.fc2", outputs: g.dim, depth: g.hidden)
                try add2("\(b).add2")
            }
        }
        let last = stages[stages.count - 1]
        try layerNorm("norm", last.dim)
        try writer.add(name: "pool.p", shape: [4], values: [
            small(), Int64(multiplier()), Int64(31 + log2(last.tokens) + 1), small(),
        ])
        try gemm("head", outputs: config.numClasses, depth: last.dim, head: true)
    }

    private mutating func gemm(_ name: String, outputs: Int, depth: Int, symmetric: Bool = false, head: Bool = false) throws {
        try writer.add(name: "\(name).w", shape: [outputs, depth], values: int8s(outputs * depth, -127...127))
        try writer.add(name: "\(name).b", shape: [outputs], values: (0..<outputs).map { _ in Int32(uniform(-2000...2000)) })
        try writer.add(name: "\(name).m", shape: [outputs], values: (0..<outputs).map { _ in multiplier() })
        let shift = Int32(head ? 34 + log2(depth) / 2 : 38 + log2(depth) / 2)
        try writer.add(name: "\(name).s", shape: [outputs], values: Array(repeating: shift, count: outputs))
        if !head { try writer.add(name: "\(name).p", shape: [1], values: [symmetric ? Int64(0) : small()]) }
    }

    private mutating func layerNorm(_ name: String, _ channels: Int) throws {
        let unit = 1000.0 * Double(channels).squareRoot()
        try writer.add(name: "\(name).g", shape: [channels], values: (0..<channels).map { _ in
            Int32(unit * Double(uniform(50...150)) / 100)
        })
        try writer.add(name: "\(name).bb", shape: [channels], values: (0..<channels).map { _ in uniform(-(10 << 20)...(10 << 20)) })
        try writer.add(name: "\(name).p", shape: [4], values: [small(), uniform(1...1000), 20, small()])
    }

    /// About 0.6 x a + 0.4 x b, so the residual stream neither dies out nor saturates.
    private mutating func add2(_ name: String) throws {
        try writer.add(name: "\(name).p", shape: [6], values: [
            small(), small(), small(), uniform((3 << 28)...(7 << 28)), uniform((1 << 29)...(1 << 30)), 31,
        ])
    }

    private mutating func requantization(_ name: String, shift: Int) throws {
        try writer.add(name: "\(name).p", shape: [2], values: [Int64(multiplier()), Int64(shift)])
    }

    private mutating func softmax(_ name: String) throws {
        let scale = Double(uniform(30...100)) / 1000
        try writer.add(name: "\(name).exp", shape: [256], values: (0..<256).map { t in
            Int32((32768 * exp(-Double(t) * scale)).rounded(.toNearestOrEven))
        })
    }

    private mutating func depthwise(_ name: String, channels: Int) throws {
        try writer.add(name: "\(name).w", shape: [channels, 4], values: int8s(channels * 4, -127...127))
        try writer.add(name: "\(name).b", shape: [channels], values: (0..<channels).map { _ in Int32(uniform(-500...500)) })
        try writer.add(name: "\(name).m", shape: [channels], values: (0..<channels).map { _ in multiplier() })
        try writer.add(name: "\(name).s", shape: [channels], values: Array(repeating: Int32(38), count: channels))
        try writer.add(name: "\(name).p", shape: [1], values: [small()])
    }

    private mutating func uniform(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(rng.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    private mutating func small() -> Int64 { uniform(-20...20) }
    private mutating func multiplier() -> Int32 { Int32(uniform((1 << 30)...((1 << 31) - 1))) }
    private mutating func int8s(_ count: Int, _ range: ClosedRange<Int64>) -> [Int8] {
        (0..<count).map { _ in Int8(uniform(range)) }
    }

    private func log2(_ x: Int) -> Int { Int.bitWidth - 1 - x.leadingZeroBitCount }
}

/// The metadata QUANT.md lists, for a synthetic model.
struct Int8TestMetadata: Codable {
    struct Preprocess: Codable {
        var channels: Int
        var height: Int
        var width: Int
        var crop: String
    }

    var format = "lavit-int8"
    var quantVersion = 2
    var config: Config
    var labels: [String]
    var preprocess: Preprocess
    var sourceSHA256 = String(repeating: "ab", count: 32)
    var logitScale = 0.125
    var scales: [String: [Double]] = [:]

    init(config: Config) {
        self.config = config
        labels = (0..<config.numClasses).map { "class \($0)" }
        preprocess = Preprocess(channels: config.inChans, height: config.imageSize[0], width: config.imageSize[1], crop: "center")
    }

    enum CodingKeys: String, CodingKey {
        case format, labels, preprocess, scales
        case quantVersion = "quant_version"
        case config = "lavit_config"
        case sourceSHA256 = "source_sha256"
        case logitScale = "logit_scale"
    }
}

