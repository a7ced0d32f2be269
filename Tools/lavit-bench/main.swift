// lavit-bench: one engine configuration, timed on command, for Tools/bench_engine.py, which
// interleaves several of these processes with ONNX Runtime round by round. Line protocol on
// stdin/stdout: prints `ready kernels=K threads=N arena=BYTES` once loaded and warm; then `run K`
// answers `ok NS1 ... NSK allocs=A` (A: heap allocations by every thread during the K runs);
// `quit` answers `maxrss_kib=KIB` and exits. The malloc counter is the test suite's
// (Tests/CAllocationCounter), linked so allocations per inference are counted in the release build.
import CAllocationCounter
import Glibc
import LavitCheckpoint
import LavitFloat
import LavitInt8
import LavitKernels
import LavitModel
import LavitModelFile

/// One timed forward pass, as a closure over an engine loaded once.
typealias Inference = () throws -> Void

/// Multiply-accumulates of the layer that ends at `tap`, for the profile's GMAC/s.
func macs(_ tap: TapPoint, _ stages: [StageGeometry]) -> Int {
    guard let m = tap.stage else { return 0 }
    let g = stages[m]
    let (n, c, nk, h, hid) = (g.tokens, g.dim, g.keys, g.heads, g.hidden)
    switch tap.site {
    case .embed: return n * c * g.inChannels * g.embedKernel * g.embedKernel
    case .reduction: return nk * c * c * g.srRatio * g.srRatio
    case .q, .attention: return n * c * c
    case .k, .v: return nk * c * c
    case .qk, .pv: return n * nk * c
    case .theta: return h * n * nk * nk
    case .psi: return h * nk * n * n
    case .fc1, .fc2: return n * c * hid
    case .attentionResidual: return n * nk * h * (m > 0 ? stages[m - 1].heads : 0)
    default: return 0
    }
}

func fail(_ message: String) -> Never {
    var line = Array("lavit-bench: \(message)\n".utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// `x` with `digits` decimals (no Foundation here).
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((x * scale).rounded())
    let whole = "\(scaled / Int(scale))"
    guard digits > 0 else { return whole }
    let fraction = String(String(abs(scaled) % Int(scale)).reversed()).padding(digits)
    return (scaled < 0 && scaled / Int(scale) == 0 ? "-" : "") + whole + "." + String(fraction.reversed())
}

extension String {
    /// Right-padded with zeros to `count` characters.
    fileprivate func padding(_ count: Int) -> String { self + String(repeating: "0", count: max(0, count - self.count)) }
}

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// A deterministic input: the same pixels in every run and every process.
func pixels(_ count: Int) -> [UInt8] {
    var state: UInt32 = 12345
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// VmHWM of this process: getrusage's peak would carry the spawning process's over exec.
func peakRSSKiB() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmHWM:") { return Int(text.filter(\.isNumber)) ?? 0 }
    }
    return 0
}

let usage = "usage: lavit-bench --model FILE.lvt [--threads N] [--kernels NAME] [--parallel-work MACS] | --float CHECKPOINT"
var arguments = Array(CommandLine.arguments.dropFirst())
var options: [String: String] = [:]
while let flag = arguments.first {
    guard ["--model", "--float", "--threads", "--kernels", "--parallel-work"].contains(flag), arguments.count >= 2 else { fail(usage) }
    options[flag] = arguments[1]
    arguments.removeFirst(2)
}

let inference: Inference
/// Per-layer profile of `runs` inferences, one line per tap site and stage (int8 only).
var profile: ((Int) throws -> [String])?
let banner: String
if let path = options["--model"] {
    guard let threads = Int(options["--threads"] ?? "1"), (1...256).contains(threads) else { fail("--threads takes 1...256") }
    let name = options["--kernels"] ?? Kernels.best.rawValue
    guard let kernels = Kernels(rawValue: name) else {
        fail("unknown kernels '\(name)'; known: \(Kernels.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard let parallelWork = Int(options["--parallel-work"] ?? "\(Int8Engine.defaultParallelWork)"), parallelWork >= 0 else {
        fail("--parallel-work takes a whole number of MACs")
    }
    let engine: Int8Engine
    do {
        let model = try Int8Model(modelFile: ModelFile.load(path: path), kernels: kernels)
        engine = try Int8Engine(model: model, threads: threads, parallelWork: parallelWork)
    } catch {
        fail("\(error)")
    }
    let image = pixels(engine.model.inputByteCount)
    inference = { _ = try image.withUnsafeBufferPointer { try engine.infer(image: $0) } }
    profile = { runs in
        var spent: [String: (ns: UInt64, macs: Int)] = [:]
        var order: [String] = []
        var total: UInt64 = 0
        try image.withUnsafeBufferPointer { image in
            for _ in 0..<runs {
                var last = nanoseconds()
                let start = last
                _ = try engine.infer(image: image) { tap in
                    let now = nanoseconds()
                    let key = "stage \(tap.id.stage.map(String.init) ?? "-") \(tap.id.site.rawValue)"
                    if spent[key] == nil { order.append(key) }
                    spent[key, default: (0, 0)].ns += now - last
                    spent[key, default: (0, 0)].macs += macs(tap.id, engine.model.stages)
                    last = nanoseconds()
                }
                total += nanoseconds() - start
            }
        }
        let accounted = spent.values.reduce(0) { $0 + $1.ns }
        var lines: [String] = []
        for key in order {
            let (ns, macs): (UInt64, Int) = spent[key]!
            let share: Double = Double(ns) / Double(accounted) * 100
            if share < 0.5 { continue }
            let milliseconds: Double = Double(ns) / Double(runs) / 1e6
            let rate: String = macs > 0 ? " \(fixed(Double(macs) / Double(ns), 1)) GMAC/s" : ""
            lines.append("profile \(key) \(fixed(milliseconds, 3)) ms \(fixed(share, 1))%" + rate)
        }
        let perInference: Double = Double(total) / Double(runs) / 1e6
        return lines + ["profile total \(fixed(perInference, 3)) ms per inference (taps included)"]
    }
    banner = "ready kernels=\(kernels.rawValue) threads=\(threads) arena=\(engine.arenaByteCount)"
} else if let path = options["--float"] {
    let weights: Weights
    do {
        let checkpoint = try Checkpoint.load(path: path)
        guard let config = checkpoint.config else { fail("\(path) records no lavit_config") }
        weights = try Weights(config: config, tensors: checkpoint.tensors)
    } catch {
        fail("\(error)")
    }
    let c = weights.config
    let shape = [c.inChans, c.imageSize[0], c.imageSize[1]]
    let input = Tensor(shape: shape, data: pixels(shape.reduce(1, *)).map { Float($0) / 127.5 - 1 })
    let engine = FloatEngine(weights: weights)
    inference = { _ = try engine.forward(input: input) }
    banner = "ready kernels=float threads=1 arena=0"
} else {
    fail(usage)
}

do {
    for _ in 0..<3 { try inference() }
} catch {
    fail("\(error)")
}
/// One protocol line, flushed at once: the driver waits for it on a pipe.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

say(banner)
while let line = readLine() {
    let words = line.split(separator: " ")
    if words == ["quit"] {
        say("maxrss_kib=\(peakRSSKiB())")
        exit(0)
    }
    guard words.count == 2, words[0] == "run" || words[0] == "profile", let count = Int(words[1]), (1...100_000).contains(count) else {
        say("error unknown command '\(line)'; expected 'run K', 'profile K' or 'quit'")
        continue
    }
    if words[0] == "profile" {
        guard let profile else {
            say("error profile is for int8 models")
            continue
        }
        do {
            for line in try profile(count) { say(line) }
        } catch {
            fail("\(error)")
        }
        say("ok")
        continue
    }
    var times: [UInt64] = []
    times.reserveCapacity(count)
    let before = lavit_alloc_count_process()
    do {
        for _ in 0..<count {
            let start = nanoseconds()
            try inference()
            times.append(nanoseconds() - start)
        }
    } catch {
        fail("\(error)")
    }
    let allocations = lavit_alloc_count_process() - before
    say("ok \(times.map(String.init).joined(separator: " ")) allocs=\(allocations)")
}
