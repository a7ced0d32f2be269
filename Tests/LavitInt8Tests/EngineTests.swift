import LavitInt8
import LavitKernels
import LavitModel
import LavitModelFile
import Testing
import LavitTestSupport

@Suite struct EngineTests {
    /// The tap sequence QUANT.md "Graph" implies for a config, written out from the graph.
    static func expectedTaps(_ config: Config) throws -> [String] {
        var names: [String] = []
        for g in try config.stageGeometry() {
            let s = "stages.\(g.index)"
            names += ["\(s).embed.proj", "\(s).embed.norm", "\(s).pos_add"]
            for i in 0..<g.depth {
                let b = "\(s).blocks.\(i)"
                names.append("\(b).norm1")
                if g.srRatio > 1 { names += ["\(b).attn.sr", "\(b).attn.norm"] }
                if g.isVA(block: i) {
                    names += ["\(b).attn.q", "\(b).attn.k", "\(b).attn.v", "\(b).attn.qk"]
                    if i == 0 && g.hasAttentionResidual {
                        names += ["\(s).attn_residual.dw", "\(s).attn_residual.pw", "\(b).attn.ar_add"]
                    }
                } else {
                    names += ["\(b).attn.v", "\(b).attn.theta", "\(b).attn.psi"]
                }
                names += [
                    "\(b).attn.scores", "\(b).attn.softmax", "\(b).attn.pv", "\(b).attn.proj", "\(b).add1",
                    "\(b).norm2", "\(b).mlp.fc1", "\(b).mlp.gelu", "\(b).mlp.fc2", "\(b).add2",
                ]
            }
        }
        return names + ["norm", "pool", "head"]
    }

    static func image(_ model: Int8Model, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return rng.bytes(model.inputByteCount)
    }

    /// Runs `engine` on `image`, recording every tap's values by name.
    static func record(_ engine: Int8Engine, _ image: [UInt8]) throws -> (logits: [Int32], taps: [(name: String, shape: [Int], values: [Int])]) {
        var taps: [(String, [Int], [Int])] = []
        let logits = try image.withUnsafeBufferPointer { image in
            Array(try engine.infer(image: image) { tap in taps.append(("\(tap.id)", tap.shape.dims, tap.integers)) })
        }
        return (logits, taps)
    }

    @Test(arguments: SyntheticConfigs.all)
    func tapsFollowTheGraph(config: Config) throws {
        let engine = try Int8Engine(modelFile: SyntheticModel.modelFile(config))
        let (logits, taps) = try Self.record(engine, Self.image(engine.model, seed: 1))
        #expect(taps.map(\.name) == (try Self.expectedTaps(config)))
        for tap in taps {
            #expect(tap.values.count == tap.shape.reduce(1, *), "\(tap.name)")
        }
        #expect(taps.last?.values == logits.map(Int.init))
        let stages = try config.stageGeometry()
        for g in stages {
            let out = try #require(taps.first { $0.name == "stages.\(g.index).blocks.\(g.depth - 1).add2" })
            #expect(out.shape == [g.tokens, g.dim])
            let scores = try #require(taps.first { $0.name == "stages.\(g.index).blocks.0.attn.softmax" })
            #expect(scores.shape == [g.heads, g.tokens, g.keys])
        }
    }

    /// Activations of a synthetic model are not all saturated or constant, so the other tests on
    /// it can see mistakes.
    @Test(arguments: SyntheticConfigs.all)
    func syntheticActivationsAreAlive(config: Config) throws {
        let engine = try Int8Engine(modelFile: SyntheticModel.modelFile(config))
        let (_, taps) = try Self.record(engine, Self.image(engine.model, seed: 2))
        for tap in taps where tap.name.hasSuffix("add2") || tap.name.hasSuffix("attn.scores") {
            let distinct = Set(tap.values).count
            let saturated = tap.values.filter { $0 == 127 || $0 == -128 }.count
            #expect(distinct > 8 && saturated * 4 < tap.values.count, "\(tap.name): \(distinct) values, \(saturated) saturated")
        }
    }

    /// Every tap of every available variant, on 1 to 3 threads with every layer split, equals the
    /// scalar reference on one thread: the variants are exact and how threads split a layer
    /// changes nothing.
    @Test(arguments: SyntheticConfigs.all)
    func everyVariantAndThreadCountAgrees(config: Config) throws {
        let file = try SyntheticModel.modelFile(config)
        let reference = try Int8Engine(modelFile: file, kernels: .scalar)
        let image = Self.image(reference.model, seed: 6)
        let expected = try Self.record(reference, image)
        for kernels in Kernels.available {
            let model = try Int8Model(modelFile: file, kernels: kernels)
            for threads in 1...3 {
                let got = try Self.record(Int8Engine(model: model, threads: threads, parallelWork: 0), image)
                #expect(got.logits == expected.logits, "\(kernels) \(threads) threads")
                let first = zip(got.taps, expected.taps).first { $0.values != $1.values || $0.name != $1.name }
                #expect(first == nil, "\(config.name) \(kernels) \(threads) threads: first differing tap \(first?.0.name ?? "")")
            }
        }
    }

    @Test func repeatedAndInterleavedCallsAgree() throws {
        let engine = try Int8Engine(modelFile: SyntheticModel.modelFile(SyntheticConfigs.multi))
        let a = Self.image(engine.model, seed: 3), b = Self.image(engine.model, seed: 4)
        let first = try Self.record(engine, a).logits
        let other = try Self.record(engine, b).logits
        #expect(try Self.record(engine, a).logits == first)
        #expect(other != first)
        let fresh = try Int8Engine(model: engine.model)
        #expect(try Self.record(fresh, b).logits == other)
    }

    /// The score buffers are shared: check, from the taps alone, that each LA block's Theta read
    /// the scores its predecessor stored and that each AR read the previous stage's last scores,
    /// by recomputing those two layers with the reference kernels.
    @Test(arguments: SyntheticConfigs.all)
    func storedScoresReachTheNextBlockAndStage(config: Config) throws {
        let file = try SyntheticModel.modelFile(config)
        let engine = try Int8Engine(modelFile: file)
        let taps = Dictionary(uniqueKeysWithValues: try Self.record(engine, Self.image(engine.model, seed: 5)).taps.map { ($0.name, $0.values) })
        let stages = try config.stageGeometry()
        var checked = 0
        for g in stages {
            let s = "stages.\(g.index)"
            for i in 0..<g.depth where !g.isVA(block: i) {
                let previous = try #require(taps["\(s).blocks.\(i - 1).attn.scores"]).map { Int8($0) }
                let layer = try gemm(file, "\(s).blocks.\(i).attn.theta", outputs: g.keys, depth: g.keys)
                var out = [Int8](repeating: 0, count: previous.count)
                previous.withUnsafeBufferPointer { x in
                    out.withUnsafeMutableBufferPointer { y in
                        ScalarKernels.gemm(x, rows: g.heads * g.tokens, stride: g.keys, layer, into: y, stride: g.keys)
                    }
                }
                #expect(out.map(Int.init) == taps["\(s).blocks.\(i).attn.theta"])
                checked += 1
            }
            if g.hasAttentionResidual {
                let p = stages[g.index - 1]
                let previous = try #require(taps["stages.\(p.index).blocks.\(p.depth - 1).attn.scores"]).map { Int8($0) }
                let dw = try depthwise(file, "\(s).attn_residual.dw", channels: p.heads)
                var out = [Int8](repeating: 0, count: p.heads * g.tokens * g.keys)
                previous.withUnsafeBufferPointer { x in
                    out.withUnsafeMutableBufferPointer { y in
                        ScalarKernels.depthwiseConv2(x, height: p.height, width: p.width, keys: g.keys, dw, into: y)
                    }
                }
                #expect(out.map(Int.init) == taps["\(s).attn_residual.dw"])
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    @Test func arenaSizeMatchesTheStaticEstimateAndHoldsTheRegions() throws {
        let config = SyntheticConfigs.rect
        let engine = try Int8Engine(modelFile: SyntheticModel.modelFile(config))
        // The static estimate is what a loaded engine allocates, and each region is as large as
        // ArenaLayout's table says, recomputed here from the stage geometry.
        #expect(engine.arenaByteCount == (try Int8Model.arenaByteCount(for: config)))
        let stages = try config.stageGeometry()
        func largest(_ f: (StageGeometry) -> Int) -> Int { stages.map(f).max() ?? 0 }
        let expected: [String: Int] = [
            "residual": largest { $0.tokens * $0.dim },
            "hidden": largest { $0.tokens * $0.hidden },
            "keys": largest { $0.keys * $0.dim },
            "scoresEven": largest { $0.heads * $0.tokens * $0.keys },
            "probabilities": 2 * largest { $0.heads * $0.tokens * $0.keys },
            "pooled": stages[stages.count - 1].dim,
            "logits": 4 * config.numClasses,
        ]
        let sizes = Dictionary(uniqueKeysWithValues: engine.model.arenaRegions.map { ($0.name, $0.byteCount) })
        for (name, bytes) in expected { #expect(sizes[name] == bytes, "\(name)") }
        var end = 0
        for region in engine.model.arenaRegions {
            #expect(region.offset == end && region.offset % 64 == 0, "\(region.name)")
            end = region.offset + (region.byteCount + 63) / 64 * 64
        }
        #expect(end == engine.arenaByteCount)
    }

    @Test func metadataAccessors() throws {
        let model = try Int8Model(modelFile: SyntheticModel.modelFile(SyntheticConfigs.plain))
        #expect(model.labels.count == 10 && model.labels[3] == "class 3")
        #expect(model.preprocess == Int8Preprocess(channels: 1, height: 21, width: 20, crop: "center"))
        #expect(model.logitScale == 0.125)
        #expect(model.sourceSHA256 == String(repeating: "ab", count: 32))
        #expect(model.inputByteCount == 21 * 20)
        #expect(model.config == SyntheticConfigs.plain)
    }
}

func gemm(_ file: ModelFile, _ name: String, outputs: Int, depth: Int) throws -> GemmParameters {
    GemmParameters(
        weights: try file.int8("\(name).w"), bias: try file.int32("\(name).b"), multiplier: try file.int32("\(name).m"),
        shift: try file.int32("\(name).s"), zeroPoint: try file.int64("\(name).p")[0], outputs: outputs, depth: depth)
}

func depthwise(_ file: ModelFile, _ name: String, channels: Int) throws -> DepthwiseConv2Parameters {
    DepthwiseConv2Parameters(
        weights: try file.int8("\(name).w"), bias: try file.int32("\(name).b"), multiplier: try file.int32("\(name).m"),
        shift: try file.int32("\(name).s"), zeroPoint: try file.int64("\(name).p")[0])
}
