import Foundation
import Glibc
import LavitKernels
import LavitTestSupport
import Testing

/// The AArch64 variants of CLavitKernels (`Sources/CLavitKernels/arm_neon.c`), bit for bit against
/// the Swift scalar reference. Swift does not cross-compile here, so the kernels and a C harness
/// (`Tests/AArch64Harness/harness.c`) are cross-compiled with clang for aarch64-linux-gnu and run
/// under qemu-aarch64: as `-cpu max` (NEON with the dot-product extension: both variants) and as
/// `-cpu cortex-a72` (a Raspberry Pi 4: NEON without it). This test writes seeded random cases,
/// computes what `ScalarKernels.gemm` and `ScalarKernels.pv` store, and compares every byte the
/// harness saw in the output buffers, guard bytes and untouched gaps included.
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
        for (index, testCase) in vectors.cases.enumerated() {
            let length = vectors.lengths[index]
            let got = Array(output[min(offset, output.count)..<min(offset + length, output.count)])
            let want = Array(vectors.expected[offset..<offset + length])
            if got != want {
                failures += 1
                if failures <= 5 { Issue.record("case \(index), \(testCase.summary): \(testCase.firstDifference(got, want))") }
            }
            offset += length
        }
        #expect(failures == 0, "\(failures) of \(vectors.cases.count) cases differ")
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
        guard let clang = onPath("clang"), let (status, output) = try? run(clang, ["-print-targets"]), status == 0,
              output.contains("aarch64")
        else { return nil }
        return clang
    }()

    static let crossLibcInstalled: Bool = {
        access(crossRoot + "/lib/crt1.o", R_OK) == 0 && access(crossRoot + "/lib/libc.so.6", R_OK) == 0
            && access("/usr/lib/gcc-cross/aarch64-linux-gnu", R_OK) == 0
    }()

    static let qemu: String? = onPath("qemu-aarch64")

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

enum AArch64Harness {
    /// A folder of this process's, removed when it exits.
    static let directory: String = {
        let path = NSTemporaryDirectory() + "lavit-aarch64-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: AArch64Harness.directory) }
        return path
    }()

    /// The harness and every C file of CLavitKernels, cross-compiled once per test run.
    static let built: (path: String?, log: String) = {
        guard let clang = AArch64Tools.clang else { return (nil, "no clang") }
        let kernels = RepositoryPaths.root + "/Sources/CLavitKernels"
        let sources = ((try? FileManager.default.contentsOfDirectory(atPath: kernels)) ?? [])
            .filter { $0.hasSuffix(".c") }.sorted().map { kernels + "/" + $0 }
        let binary = directory + "/harness"
        let arguments = [
            "--target=aarch64-linux-gnu", "-O2", "-Wall", "-I", kernels + "/include",
            RepositoryPaths.root + "/Tests/AArch64Harness/harness.c",
        ] + sources + ["-o", binary]
        do {
            let (status, output) = try AArch64Tools.run(clang, arguments)
            return (status == 0 ? binary : nil, "clang \(arguments.joined(separator: " ")): exit \(status)\n\(output)")
        } catch {
            return (nil, "clang did not run: \(error)")
        }
    }()

    static func qemu(cpu: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try AArch64Tools.run(AArch64Tools.qemu!, ["-cpu", cpu, "-L", AArch64Tools.crossRoot] + arguments)
    }
}

// MARK: - Cases

/// One call of `lavit_gemm` (kind 8) or `lavit_gemm16` (kind 16, pv: the values given transposed,
/// no bias, uniform requantization, zero point 0) over rows and output ranges of one buffer.
struct AArch64Case {
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

    let cases: [AArch64Case]
    let lengths: [Int]
    let expected: [UInt8]
    let path: String
    let written: Bool

    init() {
        var generator = CaseGenerator(seed: 0x4E45_4F4E)
        var cases: [AArch64Case] = []
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
