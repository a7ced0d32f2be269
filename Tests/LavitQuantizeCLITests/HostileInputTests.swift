import ArgumentParser
import FoundationEssentials
import Glibc
import LavitCheckpoint
import LavitModel
import Testing

@testable import LavitQuantizeCLI

/// Issue 11: files a hostile user hands to lavit-quantize give one line naming the file and the
/// cause, never a hang, a trap or a forged line.
@Suite struct HostileInputTests {
    static func scratch() throws -> String {
        let dir = "/tmp/lavit-hostile-\(UInt64.random(in: 0...UInt64.max))"
        try makeDirectory(dir)
        return dir
    }

    static func fifo(in dir: String, named name: String = "fifo") throws -> String {
        let path = dir + "/" + name
        try #require(mkfifo(path, 0o600) == 0)
        return path
    }

    /// Runs `body`, expecting an error whose one-line text contains every fragment, within a second.
    static func refusal(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let start = ContinuousClock.now
        do {
            try body()
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            let line = LavitQuantize.errorLine(error)
            for fragment in fragments {
                #expect(line.contains(fragment), "\(line) lacks \(fragment)", sourceLocation: sourceLocation)
            }
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 }, "\(line)", sourceLocation: sourceLocation)
        }
        #expect(ContinuousClock.now - start < .seconds(1), sourceLocation: sourceLocation)
    }

    // MARK: case 5, FIFOs and special files

    @Test func fifoAsEveryFileArgumentIsRefusedWithoutBlocking() throws {
        let dir = try Self.scratch()
        let fifo = try Self.fifo(in: dir)
        let checkpoint = fixtures + "golden/multi/model.safetensors"
        Self.refusal([fifo, "FIFO"]) { try Inspect.parse([fifo]).run() }
        Self.refusal([fifo, "FIFO"]) { try Verify.parse([fifo]).run() }
        Self.refusal([fifo, "FIFO"]) { try Classify.parse([fifo, fixtures + "images/fashion_28x28.png"]).run() }
        Self.refusal([fifo, "FIFO"]) { try Inspect.parse(["--config", fifo]).run() }
        Self.refusal([fifo, "FIFO"]) { try Quantize.parse([fifo, "--calibration", dir, "-o", dir + "/x.lvt"]).run() }
        Self.refusal([fifo, "FIFO"]) {
            try Quantize.parse([checkpoint, "--config", fifo, "--calibration", dir, "-o", dir + "/x.lvt"]).run()
        }
        Self.refusal([fifo, "FIFO"]) {
            try Quantize.parse([checkpoint, "--labels", fifo, "--calibration", dir, "-o", dir + "/x.lvt"]).run()
        }
        Self.refusal(["/dev/zero", "not a regular file"]) { try Inspect.parse(["/dev/zero"]).run() }
    }

    @Test func fifoImageIsOneFailedImageNotAHang() throws {
        let dir = try Self.scratch()
        let fifo = try Self.fifo(in: dir, named: "cam.png")
        let model = fixtures + "../../Tools/models/lavit-fashion.lvt"
        let start = ContinuousClock.now
        #expect(throws: ExitCode.self) { try Classify.parse([model, fifo]).run() }
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    /// A `*.png` symlink to a FIFO inside `--calibration` is skipped like any unreadable image.
    @Test func calibrationSymlinkToAFIFOIsSkipped() throws {
        let dir = try Self.scratch()
        let fifo = try Self.fifo(in: dir, named: "pipe")
        try #require(symlink(fifo, dir + "/a.png") == 0)
        Self.refusal([dir, "no calibration image could be read"]) {
            try Quantize.parse([
                fixtures + "golden/multi/model.safetensors", "--calibration", dir, "-o", dir + "/x.lvt",
            ]).run()
        }
    }

    // MARK: messages

    @Test func configJSONErrorNamesTheFileAndPosition() throws {
        let dir = try Self.scratch()
        let path = dir + "/bad.json"
        try writeText("{\n  \"image_size\": [32, 32],,\n}", to: path)
        Self.refusal([path, "not valid JSON", "at byte 27 (line 2, column 26)"]) { try Inspect.parse(["--config", path]).run() }
    }

    @Test func missingConfigKeyIsNamed() throws {
        let dir = try Self.scratch()
        let path = dir + "/missing.json"
        try writeText(#"{"image_size":[32,32],"patch_size":4,"embed_dims":[8],"depths":[1],"num_heads":[1],"num_va":[1],"sr_ratios":[1],"mlp_ratios":[2]}"#, to: path)
        Self.refusal([path, "missing key 'num_classes'"]) { try Inspect.parse(["--config", path]).run() }
    }

    /// Issue 11 case 4 through the command: the checkpoint's recorded config is refused, naming
    /// the checkpoint, before any preprocessor exists.
    @Test func configLimitsAreReportedWithTheCheckpoint() throws {
        let dir = try Self.scratch()
        let golden = try readBytes(fixtures + "golden/multi/model.safetensors")
        let length = golden[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: golden[8..<(8 + length)], as: UTF8.self)
        for (from, to, message) in [
            (#"\"image_size\": [32, 32]"#, #"\"in_chans\": 2, \"image_size\": [32, 32]"#, "in_chans must be 1 (luma) or 3 (RGB), got 2"),
            (#"\"image_size\": [32, 32]"#, #"\"image_size\": [65536, 32]"#, "image_size[0] is 65536, above the limit 16384"),
        ] {
            try #require(header.contains(from), "\(from) not in the fixture's header")
            let path = dir + "/bad.safetensors"
            try writeBytes(safetensorsBytes(header.replacing(from, with: to), Array(golden[(8 + length)...])), to: path)
            Self.refusal([path + ": lavit_config: " + message]) {
                try Quantize.parse([path, "--calibration", fixtures + "images", "-o", dir + "/x.lvt"]).run()
            }
        }
    }

    @Test func shapeMismatchNamesTheCheckpoint() throws {
        let dir = try Self.scratch()
        let path = fixtures + "golden/multi/model.safetensors"
        Self.refusal([path + ": ", "lavit-t"]) {
            try Quantize.parse([path, "--variant", "lavit-t", "--calibration", fixtures + "images", "-o", dir + "/x.lvt"]).run()
        }
    }

    /// A tensor name with a newline, colour codes and a NUL, as a hostile checkpoint carries it.
    static let forgedName = "head.weight\n\u{1B}[31mError:\u{1B}[0m forged\u{0}"

    @Test func tensorNameWithControlCharactersPrintsEscapedOnOneLine() throws {
        let dir = try Self.scratch()
        let path = dir + "/forged\n.safetensors"
        let header = #"{"\#(Self.forgedName.unicodeScalars.map { $0.value < 0x20 ? String(format4: $0.value) : String($0) }.joined())":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let json = Array(header.utf8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) } + json
        bytes += [0, 0, 0x80, 0x3F]
        try writeBytes(bytes, to: path)
        let report: String
        do {
            report = try Inspect.parse([path, "--variant", "lavit-t", "--tensors"]).report()
        } catch let error as InspectError {
            report = error.report
            #expect(!LavitQuantize.errorLine(error).unicodeScalars.contains { $0.value < 0x20 }, "\(error)")
        }
        #expect(report.contains(#"head.weight\n\u{1B}[31mError:\u{1B}[0m forged\0"#), "\(report)")
        #expect(report.contains(#"forged\n.safetensors"#), "\(report)")
        #expect(!report.contains("\u{1B}") && !report.contains("\u{0}"))
        #expect(report.split(separator: "\n").allSatisfy { !$0.hasPrefix("\u{1B}") })
    }

    @Test func labelsAndPathsPrintEscaped() {
        let text = Classify.render(path: "/tmp/a\nb.png", ranked: [(label: "cat\u{1B}[2J", probability: 0.5)])
        #expect(text == "/tmp/a\\nb.png\n  1.  cat\\u{1B}[2J   50.0%\n")
        #expect(LavitQuantize.errorLine(CLIError("x\ny\u{7}")) == #"x\ny\u{07}"#)
    }

    @Test func hugeNumbersFormatWithoutTrapping() {
        #expect(Format.fixed(.nan, 1) == "nan")
        #expect(Format.fixed(1e308, 1) == "1e+308")
        #expect(Format.fixed(-.infinity, 2) == "-inf")
        #expect(Format.fixed(12.345, 2) == "12.35")
    }
}

extension String {
    /// `\u00XX`, as JSON spells a control character.
    init(format4 value: UInt32) {
        let hex = String(value, radix: 16)
        self = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

func safetensorsBytes(_ header: String, _ data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    return (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) } + json + data
}
