import LavitInt8
import LavitModel
import LavitModelFile
import Testing

/// Every way a model file or an input can be wrong gives one line naming the cause.
@Suite struct ErrorTests {
    /// The synthetic `multi` model (AR, reduced keys, LA blocks) and every golden model.
    static func bases() throws -> [ModelFile] {
        var files = [try SyntheticModel.modelFile(SyntheticConfigs.multi)]
        for config in Int8Golden.configs { files.append(try Int8Golden.model(config)) }
        return files
    }

    /// The reason `file` is refused, checking that its message is one line naming `mention`.
    static func refusal(_ file: ModelFile, mentioning mention: String) -> Int8EngineError.Reason? {
        do {
            _ = try Int8Model(modelFile: file)
            Issue.record("\(file.source) was accepted")
            return nil
        } catch {
            let text = "\(error)"
            #expect(!text.contains("\n"), "\(text)")
            #expect(text.contains(mention), "\(text)")
            return error.reason
        }
    }

    @Test func missingTensor() throws {
        for base in try Self.bases() {
            let name = "stages.0.blocks.1.attn.softmax.exp"
            let file = try ModelRewriter.rewrite(base, dropping: name)
            #expect(Self.refusal(file, mentioning: name) == .missingTensor(name))
        }
    }

    @Test func wrongDType() throws {
        for base in try Self.bases() {
            let name = "stages.0.embed.proj.b"
            let entry = try #require(base.tensor(named: name))
            let file = try ModelRewriter.rewrite(base, replacing: [
                name: .init(dtype: .int64, shape: entry.shape, bytes: Array(repeating: 0, count: entry.elementCount * 8)),
            ])
            #expect(Self.refusal(file, mentioning: name) == .dtype(tensor: name, found: .int64, expected: .int32))
        }
    }

    @Test func wrongShape() throws {
        for base in try Self.bases() {
            let name = "stages.0.blocks.0.attn.kv.w"
            let entry = try #require(base.tensor(named: name))
            let shape = [entry.shape[0], entry.shape[1] + 1]
            let file = try ModelRewriter.rewrite(base, replacing: [
                name: .init(dtype: .int8, shape: shape, bytes: Array(repeating: 0, count: shape[0] * shape[1])),
            ])
            #expect(Self.refusal(file, mentioning: name) == .shape(tensor: name, found: shape, expected: entry.shape))
        }
    }

    @Test func shiftOutOfRange() throws {
        for base in try Self.bases() {
            let gemm = "stages.0.blocks.0.mlp.fc1.s"
            let file = try ModelRewriter.rewrite(base, replacing: ModelRewriter.edited(base, gemm, as: Int32.self) { $0[2] = 63 })
            #expect(Self.refusal(file, mentioning: gemm) == .outOfRange(tensor: gemm, index: 2, field: "shift", value: 63, range: 1...62))

            let add = "stages.0.pos_add.p"
            let file2 = try ModelRewriter.rewrite(base, replacing: ModelRewriter.edited(base, add, as: Int64.self) { $0[5] = 0 })
            #expect(Self.refusal(file2, mentioning: add) == .outOfRange(tensor: add, index: 5, field: "n", value: 0, range: 1...62))
        }
    }

    @Test func otherRanges() throws {
        let base = try SyntheticModel.modelFile(SyntheticConfigs.multi)
        let cases: [(String, (ModelFile) throws -> [String: ModelRewriter.Replacement], String)] = [
            ("stages.0.blocks.0.attn.q.m", { try ModelRewriter.edited($0, "stages.0.blocks.0.attn.q.m", as: Int32.self) { $0[0] = 1 << 29 } }, "multiplier"),
            ("stages.0.embed.norm.p", { try ModelRewriter.edited($0, "stages.0.embed.norm.p", as: Int64.self) { $0[1] = 0 } }, "E"),
            ("stages.0.embed.norm.p", { try ModelRewriter.edited($0, "stages.0.embed.norm.p", as: Int64.self) { $0[3] = 128 } }, "z_out"),
            ("stages.0.blocks.0.attn.proj.p", { try ModelRewriter.edited($0, "stages.0.blocks.0.attn.proj.p", as: Int64.self) { $0[0] = -129 } }, "z_out"),
            ("stages.0.blocks.0.attn.kv.p", { try ModelRewriter.edited($0, "stages.0.blocks.0.attn.kv.p", as: Int64.self) { $0[0] = 1 } }, "z_out"),
            ("stages.0.blocks.0.attn.softmax.exp", { try ModelRewriter.edited($0, "stages.0.blocks.0.attn.softmax.exp", as: Int32.self) { $0[0] = 0 } }, "exp[0]"),
            ("stages.1.blocks.0.attn.qk.p", { try ModelRewriter.edited($0, "stages.1.blocks.0.attn.qk.p", as: Int64.self) { $0[0] = 1 << 31 } }, "M"),
            ("pool.p", { try ModelRewriter.edited($0, "pool.p", as: Int64.self) { $0[2] = 99 } }, "n"),
            ("stages.2.blocks.1.attn.psi.w", { try ModelRewriter.edited($0, "stages.2.blocks.1.attn.psi.w", as: Int8.self) { $0[5] = -128 } }, "weight"),
            ("norm.bb", { try ModelRewriter.edited($0, "norm.bb", as: Int64.self) { $0[1] = 1 << 50 } }, "bias"),
        ]
        for (tensor, change, field) in cases {
            let file = try ModelRewriter.rewrite(base, replacing: change(base))
            guard case .outOfRange(let t, _, let f, _, _)? = Self.refusal(file, mentioning: tensor) else {
                Issue.record("\(tensor) \(field) not refused as out of range")
                continue
            }
            #expect(t == tensor && f == field)
        }
    }

    /// A gemm row whose worst case can leave the int32 accumulator (`128 * sum |w| + |b| >=
    /// 2^31`) is refused at load, as the Python reference refuses it: SIMD kernels accumulate in
    /// int32 and would disagree with the scalar one. A bias one below the bound passes.
    @Test func int32AccumulatorBound() throws {
        let base = try SyntheticModel.modelFile(SyntheticConfigs.all[0])
        let layer = "stages.0.blocks.0.mlp.fc1"
        let weights = try #require(base.tensor(named: "\(layer).w"))
        let depth = weights.shape[1]
        let row = try base.int8("\(layer).w")[(2 * depth)..<(3 * depth)]
        let weightBound = 128 * row.reduce(Int64(0)) { $0 + Int64(abs(Int32($1))) }
        let fits = Int32(Int64(Int32.max) - weightBound)
        let ok = try ModelRewriter.rewrite(base, replacing: try ModelRewriter.edited(base, "\(layer).b", as: Int32.self) { $0[2] = fits })
        #expect(throws: Never.self) { try Int8Model(modelFile: ok) }
        let over = try ModelRewriter.rewrite(
            base, replacing: try ModelRewriter.edited(base, "\(layer).b", as: Int32.self) { $0[2] = -(fits + 1) })
        guard case .mayOverflow(let tensor, let index, let bound)? = Self.refusal(over, mentioning: "\(layer).w") else {
            Issue.record("int32 accumulator overflow not detected")
            return
        }
        #expect(tensor == "\(layer).w" && index == 2)
        #expect(bound.contains("exceeds the int32 accumulator"))
    }

    /// A gemm whose worst-case accumulator times its multiplier leaves int64 is refused at load,
    /// never a trap at inference. Behind the int32 accumulator bound that cannot happen to a gemm
    /// any more: this file breaks both, and the accumulator bound, checked first, names it.
    @Test func possibleOverflow() throws {
        let wide = Config(
            name: "wide", imageSize: [148, 148], numClasses: 2, patchSize: 148, embedDims: [8], depths: [1],
            numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1])
        let base = try SyntheticModel.modelFile(wide)
        #expect(throws: Never.self) { try Int8Model(modelFile: base) }
        let layer = "stages.0.embed.proj"
        var changes = try ModelRewriter.edited(base, "\(layer).b", as: Int32.self) { $0[3] = .max }
        changes.merge(try ModelRewriter.edited(base, "\(layer).m", as: Int32.self) { $0[3] = .max }) { a, _ in a }
        changes.merge(try ModelRewriter.edited(base, "\(layer).s", as: Int32.self) { $0[3] = 62 }) { a, _ in a }
        let file = try ModelRewriter.rewrite(base, replacing: changes)
        guard case .mayOverflow(let tensor, let index, _)? = Self.refusal(file, mentioning: layer) else {
            Issue.record("overflow not detected")
            return
        }
        #expect(tensor == "\(layer).w" && index == 3)
    }

    /// pv's int32 accumulator bounds the keys per attention row at 511 (QUANT.md kernel 7): a 16x32
    /// key grid is refused at load, 15x32 is not.
    @Test func tooManyKeys() throws {
        func config(height: Int) -> Config {
            Config(
                name: "keys", imageSize: [height, 64], numClasses: 2, patchSize: 2, embedDims: [8], depths: [1],
                numHeads: [1], numVA: [1], srRatios: [1], mlpRatios: [1])
        }
        #expect(throws: Never.self) { try Int8Model(modelFile: try SyntheticModel.modelFile(config(height: 30))) }
        let file = try SyntheticModel.modelFile(config(height: 32))
        #expect(Self.refusal(file, mentioning: "512 keys") == .tooManyKeys(tensor: "stages.0.blocks.0.attn.pv.p", keys: 512, limit: 511))
    }

    @Test func wrongFormatAndVersion() throws {
        for base in try Self.bases() {
            let format = try ModelRewriter.rewrite(base) { $0["format"] = .string("lavit-int4") }
            #expect(Self.refusal(format, mentioning: "lavit-int4") == .format(found: "lavit-int4"))
            for found in [1, 3] {
                let version = try ModelRewriter.rewrite(base) { $0["quant_version"] = .integer(found) }
                #expect(Self.refusal(version, mentioning: "re-run lavit-quantize") == .quantVersion(found: found))
            }
            let missing = try ModelRewriter.rewrite(base) { $0["format"] = nil }
            #expect(Self.refusal(missing, mentioning: "format") == .metadata(detail: "no key 'format'"))
        }
    }

    @Test func metadataDisagreeingWithTheConfig() throws {
        let base = try SyntheticModel.modelFile(SyntheticConfigs.multi)
        let labels = try ModelRewriter.rewrite(base) { $0["labels"] = .array([.string("one")]) }
        #expect(Self.refusal(labels, mentioning: "labels") == .labels(count: 1, numClasses: 10))
        let size = try ModelRewriter.rewrite(base) {
            guard case .object(var p)? = $0["preprocess"] else { return }
            p["height"] = .integer(31)
            $0["preprocess"] = .object(p)
        }
        #expect(Self.refusal(size, mentioning: "preprocess.height") == .preprocess(field: "height", value: 31, expected: 32))
        let config = try ModelRewriter.rewrite(base) {
            guard case .object(var c)? = $0["lavit_config"] else { return }
            c["num_va"] = .array([.integer(0), .integer(1), .integer(1)])
            $0["lavit_config"] = .object(c)
        }
        #expect(Self.refusal(config, mentioning: "num_va") == .config(.notPositive(field: "num_va", stage: 0, value: 0)))
    }

    /// Issue 11 case 3: a scale the engine or the CLI cannot use is refused at load.
    @Test func extremeLogitScaleIsRefused() throws {
        let base = try SyntheticModel.modelFile(SyntheticConfigs.multi)
        for value in [1e308, 1e30, 0, -1, -0.0, 5e-324] {
            let file = try ModelRewriter.rewrite(base) { $0["logit_scale"] = .number(value) }
            #expect(Self.refusal(file, mentioning: "logit_scale") == .logitScale(value))
        }
        let fine = try ModelRewriter.rewrite(base) { $0["logit_scale"] = .number(1e-6) }
        #expect(throws: Never.self) { try Int8Model(modelFile: fine) }
    }

    /// A missing key is named as the file has it, not as Swift's CodingKeys print.
    @Test func missingMetadataKeyIsNamed() throws {
        let base = try SyntheticModel.modelFile(SyntheticConfigs.multi)
        let labels = try ModelRewriter.rewrite(base) { $0["labels"] = nil }
        #expect(Self.refusal(labels, mentioning: "missing key 'labels'") != nil)
        let nested = try ModelRewriter.rewrite(base) {
            guard case .object(var c)? = $0["lavit_config"] else { return }
            c["num_classes"] = nil
            $0["lavit_config"] = .object(c)
        }
        let text = "\(Self.refusal(nested, mentioning: "missing key 'num_classes' in 'lavit_config'") as Any)"
        #expect(!text.contains("CodingKeys"), "\(text)")
    }

    @Test func imageOfTheWrongSize() throws {
        for base in try Self.bases() {
            let engine = try Int8Engine(modelFile: base)
            let size = engine.model.inputByteCount
            for count in [0, size - 1, size + 1] {
                let image = [UInt8](repeating: 0, count: count)
                #expect {
                    _ = try image.withUnsafeBufferPointer { try engine.infer(image: $0) }
                } throws: { error in
                    guard let error = error as? Int8EngineError, case .imageSize(count, size, _, _, _) = error.reason else { return false }
                    return !"\(error)".contains("\n") && "\(error)".contains("\(count) bytes")
                }
            }
        }
    }
}
