import LavitKernels
import LavitTestSupport
import Testing

/// Every SIMD variant against the scalar reference, bit for bit, on the same seeded vectors: the
/// checks are listed once here and each variant's suite below runs all of them. A variant this
/// machine cannot run is skipped with the reason (AArch64 variants run under qemu-aarch64 in
/// `AArch64KernelTests` instead).
enum KernelChecks {
    static let names = ["gemm", "qk", "pv", "layernorm", "softmax", "add2", "gelu", "mix", "patches", "dwconv"]

    static func run(_ name: String, _ kernels: Kernels) throws {
        switch name {
        case "gemm": try gemmMatchesReference(kernels: kernels)
        case "qk": qkMatchesReference(kernels: kernels)
        case "pv": pvMatchesReference(kernels: kernels)
        case "layernorm": layerNormMatchesReference(kernels: kernels)
        case "softmax": softmaxMatchesReference(kernels: kernels)
        case "add2": add2MatchesReference(kernels: kernels)
        case "gelu": geluMatchesReference(kernels: kernels)
        case "mix": mixMatchesReference(kernels: kernels)
        case "patches": try patchGemmMatchesReference(kernels: kernels)
        case "dwconv": depthwiseConvMatchesReference(kernels: kernels)
        default: Issue.record("no kernel check named \(name)")
        }
    }

    static func skipReason(_ kernels: Kernels) -> Comment { Comment(rawValue: kernels.unsupportedReason ?? "") }

    /// Shapes around every block and tile edge: depths that are not whole pairs or quads, outputs
    /// that are not whole blocks, row counts that are not whole tiles, strides wider than rows.
    static let shapes: [(rows: Int, depth: Int, outputs: Int)] = [
        (1, 1, 1), (1, 3, 16), (2, 5, 17), (3, 4, 33), (6, 7, 15), (7, 16, 32), (8, 33, 48), (9, 64, 70),
        (13, 100, 31), (17, 257, 64), (25, 48, 64), (49, 512, 40), (3, 1030, 20),
    ]

    static func gemmMatchesReference(kernels: Kernels) throws {
        var rng = SplitMix64(seed: 41)
        for (index, shape) in Self.shapes.enumerated() {
            for extreme in [false, true] {
                let layer = RandomGemm(rng: &rng, outputs: shape.outputs, depth: shape.depth, extreme: extreme)
                let xStride = shape.depth + index % 3
                let yStride = shape.outputs + (index + 1) % 3
                let x = Buffer<Int8>((0..<(shape.rows * xStride)).map { _ in extreme ? [-128, 127][Int(rng.next() % 2)] : rng.int8() })
                let expected = Buffer<Int8>(repeating: 0x55, count: shape.rows * yStride)
                ScalarKernels.gemm(x.read, rows: shape.rows, stride: xStride, layer.parameters, into: expected.pointer, stride: yStride)

                let prepared = try layer.prepared(for: kernels)
                defer { withExtendedLifetime(prepared.storage) {} }
                let scratch = AlignedBytes(kernels.scratchByteCount(depth: shape.depth))
                // Whole, then in shares of rows and of output blocks as threads would take them.
                let whole = Buffer<Int8>(repeating: 0x55, count: shape.rows * yStride)
                kernels.gemm(
                    x.read, rows: shape.rows, stride: xStride, prepared.parameters, outputs: 0..<shape.outputs,
                    into: whole.pointer, stride: yStride, scratch: scratch.pointer)
                #expect(whole.array == expected.array, "\(kernels) \(shape) extreme \(extreme)")

                let shared = Buffer<Int8>(repeating: 0x55, count: shape.rows * yStride)
                let split = min(shape.outputs, 16)
                let half = shape.rows / 2
                for rows in [0..<half, half..<shape.rows] where !rows.isEmpty {
                    for outputs in [0..<split, split..<shape.outputs] where !outputs.isEmpty {
                        kernels.gemm(
                            UnsafeBufferPointer(rebasing: x.read[(rows.lowerBound * xStride)...]), rows: rows.count, stride: xStride,
                            prepared.parameters, outputs: outputs,
                            into: UnsafeMutableBufferPointer(rebasing: shared.pointer[(rows.lowerBound * yStride)...]), stride: yStride,
                            scratch: scratch.pointer)
                    }
                }
                #expect(shared.array == expected.array, "\(kernels) \(shape) extreme \(extreme), in shares")
            }
        }
    }

    static let attentionShapes: [AttentionShape] = [
        AttentionShape(heads: 1, headDim: 1, tokens: 1, keys: 1),
        AttentionShape(heads: 2, headDim: 3, tokens: 5, keys: 7),
        AttentionShape(heads: 1, headDim: 16, tokens: 17, keys: 16),
        AttentionShape(heads: 3, headDim: 8, tokens: 9, keys: 33),
        AttentionShape(heads: 5, headDim: 64, tokens: 20, keys: 49),
        AttentionShape(heads: 2, headDim: 33, tokens: 11, keys: 200),
    ]

    static func qkMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 42)
        for shape in Self.attentionShapes {
            for extreme in [false, true] {
                let width = shape.heads * shape.headDim
                let value: (inout SplitMix64) -> Int8 = { extreme ? [-128, 127][Int($0.next() % 2)] : $0.int8() }
                let q = Buffer<Int8>((0..<(shape.tokens * width)).map { _ in value(&rng) })
                let k = Buffer<Int8>((0..<(shape.keys * width)).map { _ in value(&rng) })
                let r = Requantization(multiplier: Int64(rng.next() % (1 << 31)), shift: extreme ? 1 : 30 + Int64(rng.next() % 8))
                let expected = Buffer<Int8>(repeating: 0, count: shape.scoreCount)
                ScalarKernels.qk(q: q.read, stride: width, k: k.read, stride: width, shape, r, into: expected.pointer)

                let packed = AlignedBytes(shape.heads * kernels.packedHeadByteCount(shape))
                let scratch = AlignedBytes(kernels.scratchByteCount(depth: shape.headDim))
                let got = Buffer<Int8>(repeating: 0, count: shape.scoreCount)
                for h in 0..<shape.heads { kernels.packKeys(k.read, stride: width, shape, r, head: h, into: packed.pointer) }
                for h in 0..<shape.heads {
                    for rows in [0..<shape.tokens / 2, shape.tokens / 2..<shape.tokens] where !rows.isEmpty {
                        kernels.qk(
                            q: q.read, stride: width, k: k.read, stride: width, shape, r, head: h, rows: rows,
                            packed: packed.pointer, into: got.pointer, scratch: scratch.pointer)
                    }
                }
                #expect(got.array == expected.array, "\(kernels) \(shape) extreme \(extreme)")
            }
        }
    }

    static func pvMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 43)
        for shape in Self.attentionShapes {
            for extreme in [false, true] {
                let width = shape.heads * shape.headDim
                let p = Buffer<Int16>((0..<shape.scoreCount).map { _ in
                    extreme ? [0, 32767][Int(rng.next() % 2)] : Int16(rng.next() % 32768)
                })
                let v = Buffer<Int8>((0..<(shape.keys * width)).map { _ in extreme ? [-128, 127][Int(rng.next() % 2)] : rng.int8() })
                let r = Requantization(multiplier: Int64(rng.next() % (1 << 31)), shift: extreme ? 1 : 36 + Int64(rng.next() % 6))
                let expected = Buffer<Int8>(repeating: 0, count: shape.tokens * width)
                ScalarKernels.pv(p: p.read, v: v.read, stride: width, shape, r, into: expected.pointer, stride: width)

                let packed = AlignedBytes(shape.heads * kernels.packedHeadByteCount(shape))
                let scratch = AlignedBytes(kernels.scratchByteCount(depth: shape.keys))
                let got = Buffer<Int8>(repeating: 0, count: shape.tokens * width)
                for h in 0..<shape.heads { kernels.packValues(v.read, stride: width, shape, r, head: h, into: packed.pointer) }
                for h in 0..<shape.heads {
                    for rows in [0..<shape.tokens / 2, shape.tokens / 2..<shape.tokens] where !rows.isEmpty {
                        kernels.pv(
                            p: p.read, v: v.read, stride: width, shape, r, head: h, rows: rows, packed: packed.pointer,
                            into: got.pointer, stride: width, scratch: scratch.pointer)
                    }
                }
                #expect(got.array == expected.array, "\(kernels) \(shape) extreme \(extreme)")
            }
        }
    }


    /// Widths around vector lengths, up to the 4096-channel limit; gains, biases and epsilon
    /// anywhere in the ranges the loader accepts.
    static func layerNormMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 44)
        for (rows, channels) in [(1, 1), (3, 7), (5, 24), (4, 64), (9, 96), (2, 320), (3, 513), (1, 4096)] {
            for extreme in [false, true] {
                let gain = Buffer<Int32>((0..<channels).map { _ in
                    extreme ? [Int32.max, -Int32.max][Int(rng.next() % 2)] : Int32(truncatingIfNeeded: Int64(rng.next() % (1 << 25)) - (1 << 24))
                })
                let bias = Buffer<Int64>((0..<channels).map { _ in
                    let limit: Int64 = extreme ? (1 << 46) - 1 : 1 << 30
                    return Int64(rng.next() % UInt64(2 * limit + 1)) - limit
                })
                let p = LayerNormParameters(
                    gain: gain.read, bias: bias.read, zeroIn: Int64(Int(rng.next() % 256) - 128),
                    epsilon: extreme ? Int64(1 + rng.next() % (1 << 62)) : Int64(1 + rng.next() % 1000),
                    shift: extreme ? 1 + Int64(rng.next() % 62) : 30 + Int64(rng.next() % 8), zeroOut: Int64(Int(rng.next() % 256) - 128))
                // Constant rows too, where the variance is 0 and epsilon alone sets the root.
                let x = Buffer<Int8>((0..<(rows * channels)).map { i in i / channels == 0 && extreme ? 5 : rng.int8() })
                let expected = Buffer<Int8>(repeating: 0, count: rows * channels)
                let got = Buffer<Int8>(repeating: 0, count: rows * channels)
                ScalarKernels.layerNorm(x.read, rows: rows, p, into: expected.pointer)
                kernels.layerNorm(x.read, rows: rows, p, into: got.pointer)
                #expect(got.array == expected.array, "\(kernels) layernorm \(rows) x \(channels) extreme \(extreme)")
            }
        }
    }

    static func softmaxMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 45)
        for (rows, cols) in [(1, 1), (3, 7), (16, 49), (5, 64), (2, 200), (1, 512)] {
            for extreme in [false, true] {
                var entries: [Int32] = [32768]
                for t in 1..<256 {
                    let decaying = max(0, Int32(32768 >> min(t / 8, 15)) - Int32(rng.next() % 3))
                    entries.append(extreme ? (rng.next() % 2 == 0 ? 0 : 32768) : decaying)
                }
                let table = Buffer<Int32>(entries)
                let a = Buffer<Int8>((0..<(rows * cols)).map { _ in extreme ? [-128, 127][Int(rng.next() % 2)] : rng.int8() })
                let expected = Buffer<Int16>(repeating: 0, count: rows * cols)
                let got = Buffer<Int16>(repeating: 0, count: rows * cols)
                ScalarKernels.softmax(a.read, rows: rows, cols: cols, exp: table.read, into: expected.pointer)
                kernels.softmax(a.read, rows: rows, cols: cols, exp: table.read, into: got.pointer)
                #expect(got.array == expected.array, "\(kernels) softmax \(rows) x \(cols) extreme \(extreme)")
            }
        }
    }

    /// Separate output, then in place as the residual adds run.
    static func add2MatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 46)
        for count in [1, 7, 31, 64, 100, 1000, 4099] {
            for extreme in [false, true] {
                let multiplier = { (rng: inout SplitMix64) -> Int64 in extreme ? (1 << 31) - 1 : Int64(rng.next() % (1 << 31)) }
                let p = Add2Parameters(
                    zeroA: extreme ? -128 : Int64(Int(rng.next() % 256) - 128), zeroB: extreme ? 127 : Int64(Int(rng.next() % 256) - 128),
                    zeroOut: Int64(Int(rng.next() % 256) - 128), multiplierA: multiplier(&rng), multiplierB: multiplier(&rng),
                    shift: extreme ? 62 - Int64(rng.next() % 3) * 30 : 30 + Int64(rng.next() % 4))
                let a = Buffer<Int8>((0..<count).map { _ in rng.int8() })
                let b = Buffer<Int8>((0..<count).map { _ in rng.int8() })
                let expected = Buffer<Int8>(repeating: 0, count: count)
                let got = Buffer<Int8>(repeating: 0, count: count)
                ScalarKernels.add2(a.read, b.read, p, into: expected.pointer)
                kernels.add2(a.read, b.read, p, into: got.pointer)
                #expect(got.array == expected.array, "\(kernels) add2 \(count) extreme \(extreme)")
                kernels.add2(a.read, b.read, p, into: a.pointer)
                #expect(a.array == expected.array, "\(kernels) add2 in place \(count) extreme \(extreme)")
            }
        }
    }

    /// Every table entry reached, counts around the 64-byte vector, and in place.
    static func geluMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 47)
        let table = Buffer<Int8>((0..<256).map { _ in rng.int8() })
        for count in [1, 63, 64, 65, 256, 1000, 4097] {
            let x = Buffer<Int8>((0..<count).map { i in count == 256 ? Int8(truncatingIfNeeded: i) : rng.int8() })
            let expected = Buffer<Int8>(repeating: 0, count: count)
            let got = Buffer<Int8>(repeating: 0, count: count)
            ScalarKernels.gelu(x.read, table: table.read, into: expected.pointer)
            kernels.gelu(x.read, table: table.read, into: got.pointer)
            #expect(got.array == expected.array, "\(kernels) gelu \(count)")
            kernels.gelu(x.read, table: table.read, into: x.pointer)
            #expect(x.array == expected.array, "\(kernels) gelu in place \(count)")
        }
    }

    /// The attention residual's head mixing against the reference's transpose, GEMM, transpose;
    /// whole and in shares of cells.
    static func mixMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 48)
        for (inputs, outputs, count) in [(1, 1, 1), (1, 2, 300), (2, 5, 257), (5, 8, 1000), (3, 3, 49)] {
            for extreme in [false, true] {
                let layer = RandomGemm(rng: &rng, outputs: outputs, depth: inputs, extreme: extreme)
                let x = Buffer<Int8>((0..<(inputs * count)).map { _ in extreme ? [-128, 127][Int(rng.next() % 2)] : rng.int8() })
                let rows = Buffer<Int8>(repeating: 0, count: inputs * count)
                let products = Buffer<Int8>(repeating: 0, count: outputs * count)
                let expected = Buffer<Int8>(repeating: 0, count: outputs * count)
                ScalarKernels.transpose(x.read, batches: 1, rows: inputs, cols: count, into: rows.pointer)
                ScalarKernels.gemm(rows.read, rows: count, stride: inputs, layer.parameters, into: products.pointer, stride: outputs)
                ScalarKernels.transpose(products.read, batches: 1, rows: count, cols: outputs, into: expected.pointer)
                let got = Buffer<Int8>(repeating: 0, count: outputs * count)
                kernels.mixHeads(x.read, count: count, layer.parameters, cells: 0..<count, into: got.pointer)
                #expect(got.array == expected.array, "\(kernels) mix \(inputs) -> \(outputs) x \(count) extreme \(extreme)")
                let shares = Buffer<Int8>(repeating: 0, count: outputs * count)
                for cells in [0..<count / 3, count / 3..<count] where !cells.isEmpty {
                    kernels.mixHeads(x.read, count: count, layer.parameters, cells: cells, into: shares.pointer)
                }
                #expect(shares.array == expected.array, "\(kernels) mix in shares \(inputs) -> \(outputs) x \(count)")
            }
        }
    }

    /// A GEMM over patches: the variant's patchify and its reordered weights give the reference's
    /// patchify and GEMM, for the image stem and for token grids, grids not a whole number of patches.
    static func patchGemmMatchesReference(kernels: Kernels) throws {
        var rng = SplitMix64(seed: 49)
        for (height, width, channels, k, outputs) in [(4, 4, 1, 2, 5), (9, 7, 3, 4, 24), (16, 16, 64, 8, 64), (8, 8, 5, 1, 17)] {
            let depth = channels * k * k
            let rows = (height / k) * (width / k)
            let layer = RandomGemm(rng: &rng, outputs: outputs, depth: depth, extreme: false)
            var p = layer.parameters
            let storage = AlignedBytes(kernels.preparedByteCount(p))
            kernels.prepare(&p, storage: try #require(storage.pointer), patch: (channels, k))
            let scratch = AlignedBytes(kernels.scratchByteCount(depth: depth))
            let image = Buffer<UInt8>(rng.bytes(height * width * channels))
            let grid = Buffer<Int8>((0..<(height * width * channels)).map { _ in rng.int8() })
            for fromImage in [true, false] {
                let referencePatches = Buffer<Int8>(repeating: 0, count: rows * depth)
                let patches = Buffer<Int8>(repeating: 0, count: rows * depth)
                if fromImage {
                    ScalarKernels.patchifyImage(image.read, height: height, width: width, channels: channels, kernel: k, into: referencePatches.pointer)
                    kernels.patchifyImage(image.read, height: height, width: width, channels: channels, kernel: k, into: patches.pointer)
                } else {
                    ScalarKernels.patchify(grid.read, height: height, width: width, channels: channels, kernel: k, into: referencePatches.pointer)
                    kernels.patchify(grid.read, height: height, width: width, channels: channels, kernel: k, into: patches.pointer)
                }
                let expected = Buffer<Int8>(repeating: 0, count: rows * outputs)
                let got = Buffer<Int8>(repeating: 0, count: rows * outputs)
                ScalarKernels.gemm(referencePatches.read, rows: rows, stride: depth, layer.parameters, into: expected.pointer, stride: outputs)
                kernels.gemm(patches.read, rows: rows, stride: depth, p, outputs: 0..<outputs, into: got.pointer, stride: outputs, scratch: scratch.pointer)
                #expect(got.array == expected.array, "\(kernels) patches \(height)x\(width)x\(channels) k \(k) image \(fromImage)")
            }
            withExtendedLifetime(storage) {}
        }
    }

    /// The attention residual's depth-wise conv, per channel and in shares of output rows, odd
    /// grids included, against the reference over the whole map.
    static func depthwiseConvMatchesReference(kernels: Kernels) {
        var rng = SplitMix64(seed: 50)
        for (channels, height, width, keys) in [(1, 2, 2, 1), (1, 56, 56, 49), (2, 7, 9, 13), (5, 14, 14, 49)] {
            for extreme in [false, true] {
                let w = Buffer<Int8>((0..<(channels * 4)).map { _ in extreme ? [-127, 127][Int(rng.next() % 2)] : Int8(Int(rng.next() % 255) - 127) })
                let b = Buffer<Int32>((0..<channels).map { _ in extreme ? Int32.max - 70_000 : Int32(Int(rng.next() % 2_000_001) - 1_000_000) })
                let m = Buffer<Int32>((0..<channels).map { _ in Int32(1 << 30) + Int32(rng.next() % (1 << 30)) })
                let sh = Buffer<Int32>((0..<channels).map { _ in extreme ? 62 : 36 + Int32(rng.next() % 6) })
                let p = DepthwiseConv2Parameters(weights: w.read, bias: b.read, multiplier: m.read, shift: sh.read, zeroPoint: extreme ? -128 : 3)
                let s = Buffer<Int8>((0..<(channels * height * width * keys)).map { _ in extreme ? [-128, 127][Int(rng.next() % 2)] : rng.int8() })
                let outCount = channels * (height / 2) * (width / 2) * keys
                let expected = Buffer<Int8>(repeating: 0, count: outCount)
                ScalarKernels.depthwiseConv2(s.read, height: height, width: width, keys: keys, p, into: expected.pointer)
                let got = Buffer<Int8>(repeating: 0, count: outCount)
                let half = height / 4
                for c in 0..<channels {
                    for rows in [0..<half, half..<height / 2] where !rows.isEmpty {
                        kernels.depthwiseConv2(s.read, height: height, width: width, keys: keys, p, channel: c, rows: rows, into: got.pointer)
                    }
                }
                #expect(got.array == expected.array, "\(kernels) dwconv \(channels)x\(height)x\(width)x\(keys) extreme \(extreme)")
            }
        }
    }
}

@Suite(.enabled(if: Kernels.avx2.isSupported, KernelChecks.skipReason(.avx2)))
struct AVX2KernelTests {
    @Test(arguments: KernelChecks.names) func matchesScalar(check: String) throws { try KernelChecks.run(check, .avx2) }
}

/// On CPUs with AVX-512 VNNI (and no AVX-VNNI) this runs the variant's EVEX twin of its VEX
/// instructions: the same kernel body (x86_vnni256_body.h), the same results.
@Suite(.enabled(if: Kernels.avxVNNI.isSupported, KernelChecks.skipReason(.avxVNNI)))
struct AVXVNNIKernelTests {
    @Test(arguments: KernelChecks.names) func matchesScalar(check: String) throws { try KernelChecks.run(check, .avxVNNI) }
}

@Suite(.enabled(if: Kernels.avx512VNNI.isSupported, KernelChecks.skipReason(.avx512VNNI)))
struct AVX512VNNIKernelTests {
    @Test(arguments: KernelChecks.names) func matchesScalar(check: String) throws { try KernelChecks.run(check, .avx512VNNI) }
}

@Suite(.enabled(if: Kernels.neon.isSupported, KernelChecks.skipReason(.neon)))
struct NEONKernelTests {
    @Test(arguments: KernelChecks.names) func matchesScalar(check: String) throws { try KernelChecks.run(check, .neon) }
}

@Suite(.enabled(if: Kernels.neonDot.isSupported, KernelChecks.skipReason(.neonDot)))
struct NEONDotKernelTests {
    @Test(arguments: KernelChecks.names) func matchesScalar(check: String) throws { try KernelChecks.run(check, .neonDot) }
}

@Suite struct KernelSelectionTests {
    /// The scalar reference always runs; `best` is one of the available variants.
    @Test func availableVariants() {
        #expect(Kernels.available.first == .scalar)
        #expect(Kernels.available.contains(Kernels.best))
        #expect(Kernels.available.allSatisfy { $0.isSupported })
        for kernels in Kernels.allCases where !kernels.isSupported { #expect(kernels.unsupportedReason != nil) }
    }
}

/// A random GEMM layer that keeps QUANT.md's load-time bounds: weights in [-127, 127] and
/// `128 sum|w| + |b| < 2^31` per row. `extreme` pushes weights to +-127 and the bias to the bound.
final class RandomGemm {
    let layer: GemmBuffers

    init(rng: inout SplitMix64, outputs: Int, depth: Int, extreme: Bool) {
        var weights: [Int8] = []
        var bias: [Int32] = []
        for _ in 0..<outputs {
            let row = (0..<depth).map { _ in extreme ? Int8([-127, 127][Int(rng.next() % 2)]) : Int8(Int(rng.next() % 255) - 127) }
            weights += row
            let room = Int64(Int32.max) - 128 * row.reduce(0) { $0 + Int64(abs(Int32($1))) }
            let limit = extreme ? room : min(room, 1 << 20)
            let magnitude = limit > 0 ? Int64(rng.next() % UInt64(limit + 1)) : 0
            bias.append(Int32(extreme ? (rng.next() % 2 == 0 ? limit : -limit) : (rng.next() % 2 == 0 ? magnitude : -magnitude)))
        }
        // Shifts that leave most outputs unsaturated (all above 32, as a quantizer's are), or with
        // `extreme` now and then the ends of 1...62: kernels may take a shortcut for the first.
        let typical = 30 + Int32((64 - UInt64(depth).leadingZeroBitCount) / 2) + 8
        let shift = (0..<outputs).map { _ -> Int32 in
            switch extreme ? rng.next() % 8 : 7 {
            case 0: 1
            case 1: 62
            default: typical + Int32(rng.next() % 5) - 2
            }
        }
        let multiplier = (0..<outputs).map { _ in Int32(rng.next() % (1 << 31)) }
        layer = GemmBuffers(
            weights: weights, bias: bias, multiplier: multiplier, shift: shift,
            zeroPoint: extreme ? -128 : Int64(Int(rng.next() % 256) - 128))
    }

    var parameters: GemmParameters { layer.parameters }

    /// The layer laid out for `kernels`, with the storage that keeps the layout alive.
    func prepared(for kernels: Kernels) throws -> (parameters: GemmParameters, storage: AlignedBytes) {
        var p = layer.parameters
        let storage = AlignedBytes(kernels.preparedByteCount(p))
        kernels.prepare(&p, storage: try #require(storage.pointer))
        return (p, storage)
    }
}

/// Aligned raw bytes for prepared weights and scratch; nil pointer when empty.
final class AlignedBytes {
    let pointer: UnsafeMutableRawPointer?

    init(_ count: Int) {
        pointer = count == 0 ? nil : UnsafeMutableRawPointer.allocate(byteCount: count, alignment: Kernels.alignment)
    }

    deinit { pointer?.deallocate() }
}
