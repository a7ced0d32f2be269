import Foundation
import Glibc
import LavitKernels
import LavitTestSupport
import Testing

/// The AArch64 variants of CLavitKernels (`Sources/CLavitKernels/arm_neon.c`, and the row-wise
/// kernels of `elementwise.c` as compiled for AArch64), bit for bit against the Swift scalar
/// reference. Swift does not cross-compile here, so the kernels and a C harness
/// (`Tests/AArch64Harness/harness.c`) are cross-compiled with clang for aarch64-linux-gnu and run
/// under qemu-aarch64: as `-cpu max` (NEON with the dot-product extension: both variants) and as
/// `-cpu cortex-a72` (a Raspberry Pi 4: NEON without it). This test writes seeded random cases,
/// computes what `ScalarKernels.gemm`, `.pv`, `.layerNorm`, `.softmax`, `.add2` and `.gelu` store,
/// and compares every byte the harness saw in the output buffers, guard bytes and untouched gaps
/// included.
@Suite(
    .enabled(if: AArch64Tools.clang != nil, "needs a clang that targets aarch64-linux-gnu (the Swift toolchain's does) on PATH"),
    .enabled(
        if: AArch64Tools.crossLibcInstalled,
        "needs Debian's arm64 cross libc and gcc-cross in /usr/aarch64-linux-gnu (Tools/setup.sh installs them)"),
    .enabled(if: AArch64Tools.qemu != nil, "needs qemu-aarch64 on PATH (Debian's qemu-user; Tools/setup.sh installs it)"))
struct AArch64KernelTests {
    struct Run: CustomTestStringConvertible, Sendable {
        var cpu: String
        var variant: String
        var testDescription: String { "\(variant) on qemu -cpu \(cpu)" }
    }

    @Test func dispatchFindsTheDotProductOnlyWhereTheCPUHasIt() throws {
        let harness = try #require(AArch64Harness.built.path, "\(AArch64Harness.built.log)")
        for (cpu, expected) in [("max", "neon=1 neon_dot=1"), ("cortex-a76", "neon=1 neon_dot=1"), ("cortex-a72", "neon=1 neon_dot=0")] {
            let (status, output) = try AArch64Harness.qemu(cpu: cpu, [harness, "supported"])
            #expect(status == 0 && output.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "-cpu \(cpu): \(output)")
        }
    }

    @Test(arguments: [
        Run(cpu: "max", variant: "neon_dot"), Run(cpu: "max", variant: "neon"), Run(cpu: "cortex-a72", variant: "neon"),
    ])
    func matchesTheScalarReferenceBitForBit(_ run: Run) throws {
        let harness = try #require(AArch64Harness.built.path, "\(AArch64Harness.built.log)")
        let vectors = AArch64Vectors.shared
        try #require(vectors.written, "cannot write \(vectors.path)")
        let outputPath = AArch64Harness.directory + "/out-\(run.variant)-\(run.cpu)"
        let (status, log) = try AArch64Harness.qemu(cpu: run.cpu, [harness, run.variant, vectors.path, outputPath])
        try #require(status == 0, "harness exited with \(status): \(log)")
        let output = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outputPath)))
        try? FileManager.default.removeItem(atPath: outputPath)
        #expect(output.count == vectors.expected.count, "harness wrote \(output.count) bytes, expected \(vectors.expected.count)")
        var offset = 0
        var failures = 0
        var tally: [String: (failed: Int, cases: Int)] = [:]
        for (index, testCase) in vectors.cases.enumerated() {
            let length = vectors.lengths[index]
            let got = Array(output[min(offset, output.count)..<min(offset + length, output.count)])
            let want = Array(vectors.expected[offset..<offset + length])
            tally[testCase.kernel, default: (0, 0)].cases += 1
            if got != want {
                failures += 1
                tally[testCase.kernel]!.failed += 1
                if failures <= 5 { Issue.record("case \(index), \(testCase.summary): \(testCase.firstDifference(got, want))") }
            }
            offset += length
        }
        let byKernel = tally.keys.sorted().map { "\($0) \(tally[$0]!.failed) of \(tally[$0]!.cases)" }.joined(separator: ", ")
        #expect(failures == 0, "\(failures) of \(vectors.cases.count) cases differ (\(byKernel))")
    }
}

// MARK: - Tools and the harness binary

enum AArch64Tools {
    static let crossRoot = "/usr/aarch64-linux-gnu"

    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// clang, when it has the AArch64 backend.
    static let clang: String? = {
        guard let clang = onPath("clang"), let (status, output) = try? runProcess(clang, ["-print-targets"]), status == 0,
              output.contains("aarch64")
        else { return nil }
        return clang
    }()

    static let crossLibcInstalled: Bool = {
        access(crossRoot + "/lib/crt1.o", R_OK) == 0 && access(crossRoot + "/lib/libc.so.6", R_OK) == 0
            && access("/usr/lib/gcc-cross/aarch64-linux-gnu", R_OK) == 0
    }()

    static let qemu: String? = onPath("qemu-aarch64")

}

enum AArch64Harness {
    /// A folder of this process's, removed when it exits.
    static let directory: String = {
        let path = NSTemporaryDirectory() + "lavit-aarch64-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: AArch64Harness.directory) }
        return path
    }()

    /// The harness and every C file of CLavitKernels, cross-compiled once per test run at -O3, as
    /// Package.swift builds CLavitKernels: -O2 vectorizes and unrolls differently, and would test
    /// other code than ships.
    static let built: (path: String?, log: String) = {
        guard let clang = AArch64Tools.clang else { return (nil, "no clang") }
        let kernels = RepositoryPaths.root + "/Sources/CLavitKernels"
        let sources = ((try? FileManager.default.contentsOfDirectory(atPath: kernels)) ?? [])
            .filter { $0.hasSuffix(".c") }.sorted().map { kernels + "/" + $0 }
        let binary = directory + "/harness"
        let arguments = [
            "--target=aarch64-linux-gnu", "-O3", "-Wall", "-I", kernels + "/include",
            RepositoryPaths.root + "/Tests/AArch64Harness/harness.c",
        ] + sources + ["-o", binary]
        do {
            let (status, output) = try runProcess(clang, arguments)
            return (status == 0 ? binary : nil, "clang \(arguments.joined(separator: " ")): exit \(status)\n\(output)")
        } catch {
            return (nil, "clang did not run: \(error)")
        }
    }()

    static func qemu(cpu: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(AArch64Tools.qemu!, ["-cpu", cpu, "-L", AArch64Tools.crossRoot] + arguments)
    }
}

// MARK: - Cases

/// A case of the vector file: what the harness reads, and the bytes it must write for it.
protocol AArch64VectorCase: Sendable {
    /// The kernel, for the tally of failures.
    var kernel: String { get }
    var summary: String { get }
    func serialize(into bytes: inout [UInt8])
    func expectedOutput() -> [UInt8]
    func firstDifference(_ got: [UInt8], _ want: [UInt8]) -> String
}

/// One call of `lavit_gemm` (kind 8) or `lavit_gemm16` (kind 16, pv: the values given transposed,
/// no bias, uniform requantization, zero point 0) over rows and output ranges of one buffer.
struct AArch64Case: AArch64VectorCase {
    var kind: Int32
    var rows, depth, outputs, xStride, yStride, wStride: Int
    var x8: [Int8] = []
    var x16: [Int16] = []
    var w: [Int8]
    var bias: [Int32]?
    var multiplier: [Int32]?
    var shift: [Int32]?
    var multiplierUniform: Int64 = 0
    var shiftUniform: Int64 = 1
    var zeroPoint: Int32 = 0
    var calls: [(rows: Range<Int>, outputs: Range<Int>)] = []
    var modes: String = ""

    static let guardBytes = 64
    static let sentinels: [UInt8] = [0x55, 0xAA]

    var yCount: Int { (rows - 1) * yStride + outputs }

    var kernel: String { kind == 8 ? "gemm" : "pv" }

    var summary: String {
        let requant = multiplier != nil ? "per-output m, s" : "m \(multiplierUniform) s \(shiftUniform)"
        return "kind \(kind): \(rows) rows x depth \(depth) -> \(outputs) outputs, strides x \(xStride) y \(yStride) w \(wStride), "
            + "\(requant), z \(zeroPoint), \(modes), calls \(calls.map { "r\($0.rows) o\($0.outputs)" })"
    }

    /// What `ScalarKernels` stores into the whole `yCount` buffer.
    func reference() -> [Int8] {
        let y = Buffer<Int8>(repeating: 0, count: yCount)
        if kind == 8 {
            let compact = (0..<outputs * depth).map { w[($0 / depth) * wStride + $0 % depth] }
            let layer = GemmBuffers(
                weights: compact, bias: bias ?? Array(repeating: 0, count: outputs),
                multiplier: multiplier ?? Array(repeating: Int32(multiplierUniform), count: outputs),
                shift: shift ?? Array(repeating: Int32(shiftUniform), count: outputs), zeroPoint: Int64(zeroPoint))
            let x = Buffer(x8)
            ScalarKernels.gemm(x.read, rows: rows, stride: xStride, layer.parameters, into: y.pointer, stride: yStride)
        } else {
            let p = Buffer((0..<rows * depth).map { x16[($0 / depth) * xStride + $0 % depth] })
            let v = Buffer(w)
            ScalarKernels.pv(
                p: p.read, v: v.read, stride: wStride, AttentionShape(heads: 1, headDim: outputs, tokens: rows, keys: depth),
                Requantization(multiplier: multiplierUniform, shift: shiftUniform), into: y.pointer, stride: yStride)
        }
        return y.array
    }

    /// The harness's output for this case: per sentinel, guard, y, guard.
    func expectedOutput() -> [UInt8] {
        let stored = reference()
        var covered = [Bool](repeating: false, count: yCount)
        for call in calls {
            for n in call.rows { for o in call.outputs { covered[n * yStride + o] = true } }
        }
        var bytes: [UInt8] = []
        for sentinel in Self.sentinels {
            bytes += [UInt8](repeating: sentinel, count: Self.guardBytes)
            for i in 0..<yCount { bytes.append(covered[i] ? UInt8(bitPattern: stored[i]) : sentinel) }
            bytes += [UInt8](repeating: sentinel, count: Self.guardBytes)
        }
        return bytes
    }

    func firstDifference(_ got: [UInt8], _ want: [UInt8]) -> String {
        guard got.count == want.count else { return "\(got.count) bytes, expected \(want.count)" }
        let i = got.indices.first { got[$0] != want[$0] }!
        let pass = i / (want.count / 2), j = i % (want.count / 2) - Self.guardBytes
        let place = j < 0 || j >= yCount ? "guard byte \(j)" : "row \(j / yStride), column \(j % yStride)"
        return "sentinel pass \(pass), \(place): got \(Int8(bitPattern: got[i])), expected \(Int8(bitPattern: want[i]))"
    }

    func serialize(into bytes: inout [UInt8]) {
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        i32(kind)
        i32((bias != nil ? 1 : 0) | (multiplier != nil ? 2 : 0))
        for v in [rows, depth, outputs, xStride, yStride, wStride] { i64(Int64(v)) }
        i64(multiplierUniform)
        i64(shiftUniform)
        i32(zeroPoint)
        i32(Int32(calls.count))
        for call in calls {
            for v in [call.rows.lowerBound, call.rows.upperBound, call.outputs.lowerBound, call.outputs.upperBound] { i64(Int64(v)) }
        }
        if kind == 8 { bytes += x8.map { UInt8(bitPattern: $0) } } else { for v in x16 { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } } }
        bytes += w.map { UInt8(bitPattern: $0) }
        if let bias { bias.forEach(i32) }
        if let multiplier, let shift {
            multiplier.forEach(i32)
            shift.forEach(i32)
        }
    }
}

/// The seeded cases, their vector file and the expected harness output, made once per run.
final class AArch64Vectors: Sendable {
    static let shared = AArch64Vectors()

    let cases: [any AArch64VectorCase]
    let lengths: [Int]
    let expected: [UInt8]
    let path: String
    let written: Bool

    init() {
        var generator = CaseGenerator(seed: 0x4E45_4F4E)
        var cases: [any AArch64VectorCase] = []
        // Shapes at the edges of the tiles (4 rows, 16 outputs, depth chunks of 16 and 8), then random.
        let gemmShapes = [
            (1, 1, 1), (1, 16, 16), (4, 16, 16), (5, 17, 17), (3, 15, 3), (9, 33, 33), (2, 31, 48), (7, 47, 50),
            (13, 100, 20), (6, 257, 40), (1, 300, 64), (8, 64, 128), (4, 2, 1), (11, 48, 31), (3, 8, 15),
        ]
        for (rows, depth, outputs) in gemmShapes { cases.append(generator.gemm(rows: rows, depth: depth, outputs: outputs)) }
        for _ in 0..<140 {
            cases.append(generator.gemm(rows: generator.int(1...13), depth: generator.int(1...130), outputs: generator.int(1...70)))
        }
        let pvShapes = [
            (1, 1, 1), (3, 7, 16), (4, 8, 32), (5, 9, 17), (2, 49, 32), (9, 50, 40), (6, 196, 64), (3, 200, 24), (2, 511, 16),
            (1, 16, 3),
        ]
        for (rows, keys, width) in pvShapes { cases.append(generator.pv(rows: rows, keys: keys, outputs: width)) }
        for _ in 0..<70 {
            cases.append(generator.pv(rows: generator.int(1...12), keys: generator.int(1...200), outputs: generator.int(1...70)))
        }
        // The row-wise kernels from a generator of their own, so the GEMM cases above stay as they were.
        var rowGenerator = CaseGenerator(seed: 0x524F_5753)
        cases += rowGenerator.rowWiseCases()

        var file = Array("LAVITAV1".utf8)
        withUnsafeBytes(of: Int32(cases.count).littleEndian) { file += $0 }
        var expected: [UInt8] = []
        var lengths: [Int] = []
        for c in cases {
            c.serialize(into: &file)
            let output = c.expectedOutput()
            lengths.append(output.count)
            expected += output
        }
        path = AArch64Harness.directory + "/vectors.bin"
        written = FileManager.default.createFile(atPath: path, contents: Data(file))
        self.cases = cases
        self.lengths = lengths
        self.expected = expected
    }
}

struct CaseGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...values.count - 1)] }
    mutating func chance(_ oneIn: Int) -> Bool { int(1...oneIn) == 1 }

    mutating func int8s(_ count: Int, _ mode: String) -> [Int8] {
        (0..<count).map { _ in
            switch mode {
            case "min": -128
            case "max": 127
            case "extremes": pick([-128, -127, 127])
            case "small": Int8(int(-3...3))
            default: rng.int8()
            }
        }
    }

    mutating func probabilities(_ count: Int, _ mode: String) -> [Int16] {
        (0..<count).map { _ in
            switch mode {
            case "zero": 0
            case "max": 32767
            case "extremes": pick([0, 32767])
            case "peaked": chance(5) ? Int16(int(20000...32767)) : Int16(int(0...300))
            default: Int16(int(0...32767))
            }
        }
    }

    static func bitLength(_ v: Int64) -> Int { 64 - v.magnitude.leadingZeroBitCount }

    mutating func multiplier(_ mode: String) -> Int64 {
        switch mode {
        case "edge": pick([0, 1, 1 << 30, (1 << 31) - 1])
        case "small": Int64(int(1...3))
        case "any": Int64(int(0...(1 << 31) - 1))
        default: Int64(int(1 << 30...(1 << 31) - 1))
        }
    }

    /// A shift in 1...62: around the one that maps `bound * m` onto int8 ("fit"), or at the edges, or anywhere.
    mutating func shift(_ mode: String, bound: Int64, multiplier m: Int64) -> Int64 {
        switch mode {
        case "edge": return pick([1, 2, 61, 62])
        case "small": return Int64(int(1...3))
        case "any": return Int64(int(1...62))
        default:
            let fit = Self.bitLength(bound * max(m, 1)) - 8 + int(-1...3)
            return Int64(min(62, max(1, fit)))
        }
    }

    /// Calls covering the rows and outputs, split at random rows and whole blocks; sometimes one
    /// is left out, so its cells must stay untouched.
    mutating func calls(rows: Int, outputs: Int) -> [(rows: Range<Int>, outputs: Range<Int>)] {
        func split(_ cuts: [Int], _ end: Int) -> [Range<Int>] {
            let points = [0] + Array(Set(cuts)).sorted() + [end]
            return zip(points, points.dropFirst()).map { $0..<$1 }
        }
        let rowCuts = rows > 1 && chance(2) ? (0..<int(1...2)).map { _ in int(1...rows - 1) } : []
        let blocks = (outputs + 15) / 16
        let blockCuts = blocks > 1 && chance(2) ? (0..<int(1...2)).map { _ in 16 * int(1...blocks - 1) } : []
        var calls = split(rowCuts, rows).flatMap { r in split(blockCuts, outputs).map { (rows: r, outputs: $0) } }
        if calls.count > 1 && chance(4) { calls.remove(at: int(0...calls.count - 1)) }
        return calls
    }

    mutating func gemm(rows: Int, depth: Int, outputs: Int) -> AArch64Case {
        let xMode = pick(["random", "random", "min", "max", "extremes", "small"])
        let wMode = pick(["random", "random", "extremes", "small", "max", "min"])
        var c = AArch64Case(
            kind: 8, rows: rows, depth: depth, outputs: outputs, xStride: depth + pick([0, 0, 1, 3, 16]),
            yStride: outputs + pick([0, 0, 1, 5]), wStride: depth + pick([0, 0, 2, 16]), w: [])
        c.x8 = int8s((rows - 1) * c.xStride + depth, xMode)
        c.w = int8s((outputs - 1) * c.wStride + depth, wMode)
        // The header's bound: |sum_k w x + b| < 2^31 for every int8 x.
        let room = (0..<outputs).map { o in
            (Int64(1) << 31) - 1 - 128 * (0..<depth).reduce(Int64(0)) { $0 + Int64(c.w[o * c.wStride + $1].magnitude) }
        }
        let biasMode = pick(["none", "zero", "small", "bound", "any"])
        if biasMode != "none" {
            c.bias = room.map { room in
                switch biasMode {
                case "zero": 0
                case "small": Int32(int(-1000...1000))
                case "bound": Int32(chance(2) ? room : -room)
                default: Int32(int(Int(-room)...Int(room)))
                }
            }
        }
        let mMode = pick(["quantizer", "quantizer", "edge", "small", "any"])
        let sMode = mMode == "small" ? pick(["small", "fit"]) : pick(["fit", "fit", "fit", "edge", "any"])
        // "fit" shifts map the largest accumulator of this data onto about int8.
        var largest: Int64 = 1
        for n in 0..<rows {
            for o in 0..<outputs {
                var acc = Int64(c.bias?[o] ?? 0)
                for k in 0..<depth { acc += Int64(c.x8[n * c.xStride + k]) * Int64(c.w[o * c.wStride + k]) }
                largest = max(largest, acc.magnitude > Int64.max ? Int64.max : Int64(acc.magnitude))
            }
        }
        if chance(2) {
            let m = (0..<outputs).map { _ in multiplier(mMode) }
            c.multiplier = m.map { Int32($0) }
            c.shift = m.map { Int32(shift(sMode, bound: largest, multiplier: $0)) }
        } else {
            c.multiplierUniform = multiplier(mMode)
            c.shiftUniform = shift(sMode, bound: largest, multiplier: c.multiplierUniform)
        }
        c.zeroPoint = Int32(pick([0, -128, 127, int(-128...127), int(-128...127)]))
        c.calls = calls(rows: rows, outputs: outputs)
        c.modes = "x \(xMode), w \(wMode), bias \(biasMode), m \(mMode), s \(sMode)"
        return c
    }

    /// pv: probabilities by the values of one head (transposed, keys by channels); keys < 512
    /// keeps the int32 accumulator exact (QUANT.md kernel 7).
    mutating func pv(rows: Int, keys: Int, outputs: Int) -> AArch64Case {
        let pMode = pick(["random", "random", "zero", "max", "extremes", "peaked"])
        let vMode = pick(["random", "random", "extremes", "small", "min", "max"])
        var c = AArch64Case(
            kind: 16, rows: rows, depth: keys, outputs: outputs, xStride: keys + pick([0, 0, 1, 8]),
            yStride: outputs + pick([0, 0, 3]), wStride: outputs + pick([0, 0, 1, 16]), w: [])
        c.x16 = probabilities((rows - 1) * c.xStride + keys, pMode)
        c.w = int8s((keys - 1) * c.wStride + outputs, vMode)
        let mMode = pick(["quantizer", "quantizer", "quantizer", "edge", "small", "any"])
        let sMode = mMode == "small" ? "small" : pick(["fit", "fit", "fit", "edge", "any"])
        c.multiplierUniform = multiplier(mMode)
        var largest: Int64 = 1
        for n in 0..<rows {
            for o in 0..<outputs {
                var acc: Int64 = 0
                for k in 0..<keys { acc += Int64(c.x16[n * c.xStride + k]) * Int64(c.w[k * c.wStride + o]) }
                largest = max(largest, Int64(acc.magnitude))
            }
        }
        c.shiftUniform = shift(sMode, bound: largest, multiplier: c.multiplierUniform)
        c.calls = calls(rows: rows, outputs: outputs)
        c.modes = "p \(pMode), v \(vMode), m \(mMode), s \(sMode)"
        return c
    }
}

// MARK: - Row-wise cases

/// One row-wise kernel of `elementwise.c` (QUANT.md kernels 3, 4, 6 and 8) over one buffer, as
/// calls on shares of its rows (layernorm, softmax) or elements (add2, lookup), the way the
/// engine's threads take them. Parameters stay within what `TensorResolver` accepts.
struct AArch64RowCase: AArch64VectorCase {
    enum Kind: Int32, Sendable {
        case layerNorm = 103, add2 = 104, softmax = 106, lookup = 108
    }

    var kind: Kind
    /// add2: 1 y is a, 2 y is b; lookup: 1 y is x; else 0 (y apart).
    var flags: Int32 = 0
    /// Rows of `width` (layernorm's channels, softmax's cols); add2 and lookup: one row of `width` elements.
    var rows: Int
    var width: Int
    /// layernorm's x, softmax's a, add2's a, lookup's x.
    var x: [Int8]
    /// add2's b.
    var b: [Int8] = []
    var gain: [Int32] = []
    var bias: [Int64] = []
    /// layernorm: [z_in, E, shift, z_out]; add2: [z_a, z_b, z_out, M_a, M_b, n].
    var parameters: [Int64] = []
    /// softmax's exp table.
    var exp: [Int32] = []
    /// lookup's table.
    var table: [Int8] = []
    /// Ranges of rows (layernorm, softmax) or of elements (add2, lookup).
    var calls: [Range<Int>] = []
    var modes = ""

    var count: Int { rows * width }
    var elementBytes: Int { kind == .softmax ? 2 : 1 }
    /// Elements per unit of `calls`.
    var unit: Int { kind == .layerNorm || kind == .softmax ? width : 1 }

    var kernel: String {
        switch kind {
        case .layerNorm: "layernorm"
        case .add2: "add2"
        case .softmax: "softmax"
        case .lookup: "lookup"
        }
    }

    var summary: String {
        let place = flags == 0 ? "y apart" : flags == 1 ? (kind == .add2 ? "y is a" : "y is x") : "y is b"
        let shape: String
        switch kind {
        case .layerNorm: shape = "\(rows) x \(width), [z_in, E, shift, z_out] \(parameters)"
        case .softmax: shape = "\(rows) x \(width)"
        case .add2: shape = "\(width) elements, [z_a, z_b, z_out, M_a, M_b, n] \(parameters), \(place)"
        case .lookup: shape = "\(width) elements, \(place)"
        }
        return "\(kernel) \(shape), \(modes), calls \(calls)"
    }

    /// What the scalar reference stores for every element.
    func reference() -> [Int] {
        switch kind {
        case .layerNorm:
            let g = Buffer(gain), bb = Buffer(bias), input = Buffer(x), y = Buffer<Int8>(repeating: 0, count: count)
            let p = LayerNormParameters(
                gain: g.read, bias: bb.read, zeroIn: parameters[0], epsilon: parameters[1], shift: parameters[2], zeroOut: parameters[3])
            ScalarKernels.layerNorm(input.read, rows: rows, p, into: y.pointer)
            return y.array.map(Int.init)
        case .softmax:
            let e = Buffer(exp), a = Buffer(x), p = Buffer<Int16>(repeating: 0, count: count)
            ScalarKernels.softmax(a.read, rows: rows, cols: width, exp: e.read, into: p.pointer)
            return p.array.map(Int.init)
        case .add2:
            let a = Buffer(x), bb = Buffer(b), y = Buffer<Int8>(repeating: 0, count: count)
            let q = parameters
            let p = Add2Parameters(zeroA: q[0], zeroB: q[1], zeroOut: q[2], multiplierA: q[3], multiplierB: q[4], shift: q[5])
            ScalarKernels.add2(a.read, bb.read, p, into: y.pointer)
            return y.array.map(Int.init)
        case .lookup:
            let t = Buffer(table), input = Buffer(x), y = Buffer<Int8>(repeating: 0, count: count)
            ScalarKernels.gelu(input.read, table: t.read, into: y.pointer)
            return y.array.map(Int.init)
        }
    }

    /// The harness's output for this case: per sentinel, guard, y, guard. Elements no call covers
    /// keep the sentinel, or the input y aliases.
    func expectedOutput() -> [UInt8] {
        let stored = reference()
        var covered = [Bool](repeating: false, count: count)
        for call in calls { for i in call.lowerBound * unit..<call.upperBound * unit { covered[i] = true } }
        let initial: [Int8]? = flags == 0 ? nil : flags == 1 ? x : b
        var bytes: [UInt8] = []
        for sentinel in AArch64Case.sentinels {
            bytes += [UInt8](repeating: sentinel, count: AArch64Case.guardBytes)
            for i in 0..<count {
                if covered[i] {
                    if elementBytes == 2 {
                        withUnsafeBytes(of: Int16(stored[i]).littleEndian) { bytes += $0 }
                    } else {
                        bytes.append(UInt8(bitPattern: Int8(stored[i])))
                    }
                } else if let initial {
                    bytes.append(UInt8(bitPattern: initial[i]))
                } else {
                    bytes += [UInt8](repeating: sentinel, count: elementBytes)
                }
            }
            bytes += [UInt8](repeating: sentinel, count: AArch64Case.guardBytes)
        }
        return bytes
    }

    func firstDifference(_ got: [UInt8], _ want: [UInt8]) -> String {
        guard got.count == want.count else { return "\(got.count) bytes, expected \(want.count)" }
        let i = got.indices.first { got[$0] != want[$0] }!
        let half = want.count / 2, pass = i / half, j = i % half - AArch64Case.guardBytes
        if j < 0 || j >= count * elementBytes {
            return "sentinel pass \(pass), guard byte \(j < 0 ? j : j - count * elementBytes)"
                + ": got \(Int8(bitPattern: got[i])), expected \(Int8(bitPattern: want[i]))"
        }
        let e = j / elementBytes, start = pass * half + AArch64Case.guardBytes + e * elementBytes
        func value(_ bytes: [UInt8]) -> Int {
            elementBytes == 2 ? Int(Int16(bitPattern: UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8)) : Int(Int8(bitPattern: bytes[start]))
        }
        let place = unit == 1 ? "element \(e)" : "row \(e / width), column \(e % width)"
        return "sentinel pass \(pass), \(place): got \(value(got)), expected \(value(want))"
    }

    func serialize(into bytes: inout [UInt8]) {
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        i32(kind.rawValue)
        i32(flags)
        switch kind {
        case .layerNorm, .softmax: [rows, width].forEach { i64(Int64($0)) }
        case .add2, .lookup: i64(Int64(width))
        }
        parameters.forEach(i64)
        i32(Int32(calls.count))
        for call in calls { [call.lowerBound, call.upperBound].forEach { i64(Int64($0)) } }
        gain.forEach(i32)
        bias.forEach(i64)
        exp.forEach(i32)
        bytes += table.map { UInt8(bitPattern: $0) }
        bytes += x.map { UInt8(bitPattern: $0) }
        bytes += b.map { UInt8(bitPattern: $0) }
    }
}

extension CaseGenerator {
    /// Every row-wise case: shapes around the 16-byte NEON vector and the compiler's unrolled
    /// multiples of it, up to the limits the loader accepts (4096 channels, 512 scores a row),
    /// then random ones.
    mutating func rowWiseCases() -> [AArch64RowCase] {
        var cases: [AArch64RowCase] = []
        let layerNormShapes = [
            (1, 1), (2, 2), (3, 7), (4, 15), (4, 16), (4, 17), (3, 31), (3, 33), (5, 24), (4, 64), (3, 65), (9, 96),
            (2, 127), (2, 128), (2, 129), (2, 320), (3, 513), (2, 768), (1, 4095), (1, 4096), (2, 4096),
        ]
        for (rows, channels) in layerNormShapes { cases.append(layerNorm(rows: rows, channels: channels)) }
        // The extremes together: largest gains and biases, epsilon 1 (the root of a constant row is
        // epsilon's alone) and 2^62, shifts 1 and 62, rows at the largest |t| (all equal but one).
        for channels in [7, 64, 4096] {
            cases.append(layerNorm(rows: 3, channels: channels, g: "extreme", b: "extreme", e: "min", s: "1", x: ["constant", "oneOff", "extremes"]))
            cases.append(layerNorm(rows: 3, channels: channels, g: "extreme", b: "zero", e: "max", s: "fit", x: ["oneOff", "extremes", "random"]))
            cases.append(layerNorm(rows: 2, channels: channels, g: "any", b: "any", e: "min", s: "62", x: ["oneOff", "zeroIn"]))
            cases.append(layerNorm(rows: 2, channels: channels, g: "extreme", b: "small", e: "min", s: "fit", x: ["oneOff", "constant"]))
        }
        // Exact ties in both rounding shifts (odd widths make D odd about half the time), on rows of
        // small variance, where epsilon dominates, |t| stays small and so does the shift.
        for channels in [7, 33, 129, 513, 4095] {
            cases.append(layerNorm(rows: 3, channels: channels, g: "pow2", b: "half", e: "square", s: "fit", x: ["small"]))
            cases.append(layerNorm(rows: 2, channels: channels, g: "pow2", b: "zero", e: "square", s: "fit", x: ["small", "oneOff"]))
        }
        for _ in 0..<40 {
            let channels = chance(4) ? int(200...1100) : int(1...200)
            cases.append(layerNorm(rows: int(1...9), channels: channels))
        }

        let softmaxShapes = [
            (1, 1), (2, 2), (3, 7), (4, 15), (4, 16), (4, 17), (3, 31), (3, 32), (3, 33), (2, 63), (2, 64), (2, 65), (16, 49),
            (5, 64), (2, 200), (8, 196), (2, 257), (2, 511), (1, 512), (3, 512),
        ]
        for (rows, cols) in softmaxShapes { cases.append(softmax(rows: rows, cols: cols)) }
        // Tables with zeros (and all 32768), on rows that reach both ends of the table.
        for table in ["zeros", "extremes", "sparse", "full"] {
            cases.append(softmax(rows: 4, cols: 512, table: table, a: ["spread", "extremes", "constant", "random"]))
            cases.append(softmax(rows: 3, cols: 33, table: table, a: ["spread", "extremes", "narrow"]))
        }
        for (rows, cols) in [(1, 3), (2, 4), (4, 17), (8, 64), (3, 511), (2, 512)] { cases.append(softmaxTies(rows: rows, cols: cols)) }
        for _ in 0..<40 {
            let cols = chance(4) ? int(300...512) : int(1...300)
            cases.append(softmax(rows: int(1...8), cols: cols))
        }

        let elementCounts = [1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000, 4099]
        for count in elementCounts {
            for flags: Int32 in [0, 1, 2] { cases.append(add2(count: count, flags: flags)) }
        }
        // As VariantTests' extremes: both multipliers 2^31 - 1, zero points at the ends, shifts 62, 32 and 2.
        for shift in ["62", "32", "2", "1"] {
            cases.append(add2(count: 4099, flags: 1, m: "max", s: shift, extremeZeros: true))
        }
        for _ in 0..<30 { cases.append(add2(count: int(1...600), flags: Int32(int(0...2)))) }

        for count in elementCounts {
            for flags: Int32 in [0, 1] { cases.append(lookup(count: count, flags: flags)) }
        }
        // Every table entry, in order and shuffled, apart and in place.
        for flags: Int32 in [0, 1] {
            cases.append(lookup(count: 256, flags: flags, x: "every"))
            cases.append(lookup(count: 256, flags: flags, x: "shuffled"))
            cases.append(lookup(count: 1000, flags: flags, x: "every"))
        }
        for _ in 0..<20 { cases.append(lookup(count: int(1...600), flags: Int32(int(0...1)))) }
        return cases
    }

    mutating func zeroPoint() -> Int64 { Int64(pick([-128, 127, 0, int(-128...127), int(-128...127)])) }

    /// Shares of `units` rows or elements: whole, or cut in up to four; now and then one is left out,
    /// so its outputs must stay untouched.
    mutating func shares(_ units: Int) -> [Range<Int>] {
        let cuts = units > 1 && chance(2) ? Set((0..<int(1...3)).map { _ in int(1...units - 1) }).sorted() : []
        let points = [0] + cuts + [units]
        var shares = zip(points, points.dropFirst()).map { $0..<$1 }
        if shares.count > 1 && chance(4) { shares.remove(at: int(0...shares.count - 1)) }
        return shares
    }

    /// Layernorm within TensorResolver's ranges: gains |g| < 2^31, biases |bb| < 2^46, epsilon in
    /// 1...2^62, shift in 1...62, zero points in int8; each row of x in one of `x`'s modes. Besides
    /// random and extreme parameters, "square" epsilon makes one row's `V + E` a power of 4,
    /// so `inv` is a power of 2 and `RS(D inv, 25)` meets exact ties, and power-of-2 gains with
    /// biases of whole halves of `2^shift` ("pow2", "half") make `RS(t g + bb, shift)` meet them.
    mutating func layerNorm(
        rows: Int, channels: Int, g: String? = nil, b: String? = nil, e: String? = nil, s: String? = nil, x: [String]? = nil
    ) -> AArch64RowCase {
        let gMode = g ?? pick(["quantizer", "quantizer", "pow2", "pow2", "extreme", "any", "small", "zero"])
        let bMode = b ?? pick(["small", "small", "half", "half", "extreme", "any", "zero"])
        let eMode = e ?? pick(["small", "small", "square", "square", "power", "edge", "any"])
        // VariantTests' "typical" shifts 30...37 suit its gains below 2^24 only.
        let sMode = s ?? pick(["fit", "fit", "fit", "fit", "fit", gMode == "quantizer" ? "typical" : "fit", "edge", "any"])
        let xModes = x ?? ["random", "random", "random", "constant", "oneOff", "extremes", "small", "zeroIn"]
        let (gainLimit, biasLimit): (Int64, Int64) = ((1 << 31) - 1, (1 << 46) - 1)
        let zeroIn = zeroPoint(), zeroOut = zeroPoint()

        var used: [String] = []
        var values: [Int8] = []
        for _ in 0..<rows {
            let mode = pick(xModes)
            used.append(mode)
            switch mode {
            case "constant":
                values += [Int8](repeating: rng.int8(), count: channels)
            case "oneOff":
                // All equal but one, off by one: the smallest variance, so the largest |t|.
                let v = int(-127...126)
                var row = [Int8](repeating: Int8(v), count: channels)
                row[int(0...channels - 1)] = Int8(v + pick([-1, 1]))
                values += row
            case "extremes": values += (0..<channels).map { _ in pick([-128, 127]) }
            case "small": values += (0..<channels).map { _ in Int8(min(127, max(-128, zeroIn + Int64(int(-3...3))))) }
            case "zeroIn": values += [Int8](repeating: Int8(zeroIn), count: channels)
            default: values += (0..<channels).map { _ in rng.int8() }
            }
        }
        let epsilon: Int64
        switch eMode {
        case "small": epsilon = Int64(int(1...1000))
        case "square":
            // 4^m above a row's V, m >= 16: inv = 2^(40 - m), and RS(D inv, 25) is a tie wherever D
            // has exactly m - 16 trailing zero bits. The row of least nonzero V gives the least m.
            let variances = (0..<rows).map { Self.layerNormVariance(values[$0 * channels..<($0 + 1) * channels], zeroIn: zeroIn) }
            let v = variances.filter { $0 > 0 }.min() ?? 0
            let m = max(16, (Self.bitLength(v) + 1) / 2)
            epsilon = (Int64(1) << (2 * m)) - v
        case "power": epsilon = max(1, (Int64(1) << int(0...40)) + Int64(int(-1...1)))
        case "edge": epsilon = pick([1, 2, 3, (1 << 62) - 1, 1 << 62])
        case "any": epsilon = Int64(int(1...(1 << 62)))
        case "min": epsilon = 1
        default: epsilon = 1 << 62
        }
        let gain = (0..<channels).map { _ -> Int32 in
            switch gMode {
            case "quantizer": Int32(int(-(1 << 24)...(1 << 24)))
            case "pow2": Int32(pick([1, -1]) << int(0...12))
            case "extreme": Int32(pick([gainLimit, -gainLimit]))
            case "any": Int32(int(Int(-gainLimit)...Int(gainLimit)))
            case "small": Int32(int(-3...3))
            default: 0
            }
        }
        var bias = (0..<channels).map { _ -> Int64 in
            switch bMode {
            case "small": Int64(int(-(1 << 30)...(1 << 30)))
            case "extreme": pick([biasLimit, -biasLimit])
            case "any": Int64(int(Int(-biasLimit)...Int(biasLimit)))
            default: 0
            }
        }
        // "fit" maps the largest |t g + bb| of this data onto about int8 ("half" biases come later,
        // a few halves of 2^shift, and leave that about as it is).
        var largest: Int64 = 1
        for row in 0..<rows {
            let t = Self.layerNormT(values[row * channels..<(row + 1) * channels], zeroIn: zeroIn, epsilon: epsilon)
            for i in 0..<channels { largest = max(largest, abs(t[i] * Int64(gain[i]) + bias[i])) }
        }
        let shift: Int64 =
            switch sMode {
            case "fit": Int64(min(62, max(1, Self.bitLength(largest) - 8 + int(-1...3))))
            case "typical": Int64(int(30...37))
            case "edge": pick([1, 2, 61, 62])
            case "any": Int64(int(1...62))
            default: Int64(sMode)!
            }
        if bMode == "half" {
            let most = min(64, biasLimit >> (shift - 1))
            bias = (0..<channels).map { _ in Int64(int(Int(-most)...Int(most))) << (shift - 1) }
        }
        var c = AArch64RowCase(kind: .layerNorm, rows: rows, width: channels, x: values)
        c.gain = gain
        c.bias = bias
        c.parameters = [zeroIn, epsilon, shift, zeroOut]
        c.calls = shares(rows)
        c.modes = "g \(gMode), bb \(bMode), E \(eMode), shift \(sMode), rows \(used)"
        return c
    }

    /// Layernorm's `V = sum D_i^2` of one row.
    static func layerNormVariance(_ row: ArraySlice<Int8>, zeroIn: Int64) -> Int64 {
        let width = Int64(row.count), s = row.reduce(Int64(0)) { $0 + Int64($1) - zeroIn }
        return row.reduce(Int64(0)) { v, x in
            let d = width * (Int64(x) - zeroIn) - s
            return v + d * d
        }
    }

    /// Layernorm's `t_i = RS(D_i inv, 25)` of one row, to choose parameters around it.
    static func layerNormT(_ row: ArraySlice<Int8>, zeroIn: Int64, epsilon: Int64) -> [Int64] {
        let width = Int64(row.count), s = row.reduce(Int64(0)) { $0 + Int64($1) - zeroIn }
        let w = layerNormVariance(row, zeroIn: zeroIn) + epsilon, k = layerNormRootBits(w)
        let inv = (Int64(1) << (40 + k)) / isqrt(w << (2 * k))
        return row.map { roundingShift((width * (Int64($0) - zeroIn) - s) * inv, 25) }
    }

    /// Softmax with a table as the loader accepts it (`exp[0] = 32768`, the rest in 0...32768).
    mutating func softmax(rows: Int, cols: Int, table: String? = nil, a: [String]? = nil) -> AArch64RowCase {
        let tMode = table ?? pick(["decaying", "decaying", "zeros", "extremes", "sparse", "random", "full"])
        let aModes = a ?? ["random", "random", "random", "extremes", "constant", "spread", "narrow"]
        var exp: [Int32] = [32768]
        for t in 1..<256 {
            let decaying = max(0, Int32(32768 >> min(t / 8, 15)) - Int32(int(0...2)))
            let entry: Int32 =
                switch tMode {
                case "decaying": decaying
                case "zeros": 0
                case "extremes": pick([0, 32768])
                case "sparse": chance(3) ? 0 : decaying
                case "random": Int32(int(0...32768))
                default: 32768
                }
            exp.append(entry)
        }
        var used: [String] = []
        var values: [Int8] = []
        for _ in 0..<rows {
            let mode = pick(aModes)
            used.append(mode)
            switch mode {
            case "extremes": values += (0..<cols).map { _ in pick([-128, 127]) }
            case "constant": values += [Int8](repeating: rng.int8(), count: cols)
            case "spread":
                // Both ends in the row: the table's last entry is read.
                var row = (0..<cols).map { _ in rng.int8() }
                row[int(0...cols - 1)] = -128
                row[int(0...cols - 1)] = 127
                values += row
            case "narrow":
                let top = int(-125...127)
                values += (0..<cols).map { _ in Int8(top - int(0...3)) }
            default: values += (0..<cols).map { _ in rng.int8() }
            }
        }
        var c = AArch64RowCase(kind: .softmax, rows: rows, width: cols, x: values)
        c.exp = exp
        c.calls = shares(rows)
        c.modes = "table \(tMode), rows \(used)"
        return c
    }

    /// Softmax rows whose sum is 2^16, so `inv = 2^30` and every odd entry `e` lands on an exact
    /// tie of `RS(e inv, 31)`: row r holds 127 once (entry 0, 32768), 127 - (2r + 1) n times and
    /// 127 - (2r + 2) once, with odd entries `e1 n + e2 = 32768`, and -128 (entry 255, 0) elsewhere.
    /// `cols` >= 3, rows <= 63.
    mutating func softmaxTies(rows: Int, cols: Int) -> AArch64RowCase {
        var exp: [Int32] = [32768] + (1..<256).map { t in max(0, Int32(32768 >> min(t / 8, 15)) - Int32(int(0...2))) }
        exp[255] = 0
        var values: [Int8] = []
        for r in 0..<rows {
            let n = 2 * int(0...min(7, (cols - 3) / 2)) + 1
            let e1 = 2 * int(0...(32767 / n - 1) / 2) + 1
            exp[2 * r + 1] = Int32(e1)
            exp[2 * r + 2] = Int32(32768 - e1 * n)
            var row = [Int8(127)] + [Int8](repeating: Int8(127 - (2 * r + 1)), count: n) + [Int8(127 - (2 * r + 2))]
            row += [Int8](repeating: -128, count: cols - row.count)
            values += row.shuffled(using: &rng)
        }
        var c = AArch64RowCase(kind: .softmax, rows: rows, width: cols, x: values)
        c.exp = exp
        c.calls = shares(rows)
        c.modes = "ties"
        return c
    }

    /// add2 within the loader's ranges: multipliers in [0, 2^31), shift in 1...62, zero points in int8.
    mutating func add2(count: Int, flags: Int32, m: String? = nil, s: String? = nil, extremeZeros: Bool = false) -> AArch64RowCase {
        let mMode = m ?? pick(["quantizer", "quantizer", "ties", "ties", "any", "edge", "max", "mixed"])
        let sMode = s ?? pick(["fit", "fit", "fit", "fit", "fit", "fit", "edge", "any"])
        func multiplier(_ g: inout CaseGenerator, _ mode: String) -> Int64 {
            switch mode {
            case "quantizer": Int64(g.int(1 << 30...(1 << 31) - 1))
            case "any": Int64(g.int(0...(1 << 31) - 1))
            case "edge": g.pick([0, 1, 1 << 30, (1 << 31) - 1])
            default: (1 << 31) - 1
            }
        }
        var ma = multiplier(&self, mMode == "mixed" ? "quantizer" : mMode)
        var mb = multiplier(&self, mMode == "mixed" ? "any" : mMode)
        var shift: Int64 =
            switch sMode {
            case "fit": Int64(min(62, max(1, Self.bitLength(255 * max(ma, mb, 1)) - 8 + int(-1...3))))
            case "edge": pick([1, 2, 32, 61, 62])
            case "any": Int64(int(1...62))
            default: Int64(sMode)!
            }
        if mMode == "ties" {
            // y = z + RS((a - z_a) 2^(n-1) + (b - z_b) k 2^(n-2), n): halves and quarters, so exact ties.
            shift = Int64(int(2...31))
            (ma, mb) = (Int64(1) << (shift - 1), Int64(int(1...3)) << (shift - 2))
            if chance(2) { swap(&ma, &mb) }
        }
        let zeroA: Int64 = extremeZeros ? -128 : zeroPoint(), zeroB: Int64 = extremeZeros ? 127 : zeroPoint()
        let operandModes = ["random", "random", "random", "random", "extremes", "near", "min", "max", "zero"]
        let (aMode, bMode) = (pick(operandModes), pick(operandModes))
        func operand(_ g: inout CaseGenerator, _ mode: String, zero: Int64) -> [Int8] {
            (0..<count).map { _ in
                switch mode {
                case "extremes": g.pick([-128, 127])
                case "min": -128
                case "max": 127
                case "zero": Int8(zero)
                case "near": Int8(min(127, max(-128, zero + Int64(g.int(-4...4)))))
                default: g.rng.int8()
                }
            }
        }
        var c = AArch64RowCase(kind: .add2, flags: flags, rows: 1, width: count, x: operand(&self, aMode, zero: zeroA))
        c.b = operand(&self, bMode, zero: zeroB)
        c.parameters = [zeroA, zeroB, zeroPoint(), ma, mb, shift]
        c.calls = shares(count)
        c.modes = "m \(mMode), shift \(mMode == "ties" ? "ties" : sMode), a \(aMode), b \(bMode)"
        return c
    }

    /// GELU's lookup: mostly a permutation table, so any wrong index reads a wrong value.
    mutating func lookup(count: Int, flags: Int32, x: String? = nil) -> AArch64RowCase {
        let tMode = pick(["permutation", "permutation", "random"])
        let xMode = x ?? pick(["random", "random", "every", "extremes"])
        let table = tMode == "permutation" ? (-128...127).map { Int8($0) }.shuffled(using: &rng) : (0..<256).map { _ in rng.int8() }
        let start = int(0...255)
        var values: [Int8]
        switch xMode {
        case "every": values = (0..<count).map { Int8(truncatingIfNeeded: $0 + start) }
        case "shuffled": values = (0..<count).map { Int8(truncatingIfNeeded: $0 + start) }.shuffled(using: &rng)
        case "extremes": values = (0..<count).map { _ in pick([-128, 127]) }
        default: values = (0..<count).map { _ in rng.int8() }
        }
        var c = AArch64RowCase(kind: .lookup, flags: flags, rows: 1, width: count, x: values)
        c.table = table
        c.calls = shares(count)
        c.modes = "table \(tMode), x \(xMode)"
        return c
    }
}
