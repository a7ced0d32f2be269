import FoundationEssentials
import Glibc
import Testing
@testable import LavitModelFile
import LavitTestSupport

private let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/LavitModelFileTests/InteropTests.swift
    return parts.joined(separator: "/")
}()

/// Files written by the Python tools load in Swift, and files written by Swift load in Python
/// (`Tools/lavit_ref/modelfile.py`, the reader the Python integer reference uses).
struct InteropTests {
    static let fixture = repositoryRoot + "/Tests/Fixtures/modelfile/python_written.lvt"

    /// Restates the formulas of `Tools/make_modelfile_fixture.py`.
    static func fixtureTensors() throws -> ModelFileWriter {
        let metadata = #"{"format":"lavit-int8","labels":["T-shirt/top","Trouser","Ankle boot"],"note":"Größe 😀","#
            + #""quantization":{"input_scale":0.0078125,"zero_point":-128},"source_sha256":"00ff"}"#
        var writer = try ModelFileWriter(metadataJSON: Array(metadata.utf8))
        try writer.add(name: "stages.0.embed.proj.weight", shape: [2, 3, 4], values: (0..<24).map { Int8($0 * 37 % 256 - 128) })
        try writer.add(name: "lut.gelu", shape: [256], values: (0..<256).map { UInt8(($0 * 7 + 3) % 256) })
        try writer.add(name: "stages.0.embed.proj.bias", shape: [5], values: (0..<5).map { Int16($0 * 9001 - 20000) })
        try writer.add(name: "head.bias", shape: [3], values: (0..<3).map { Int32($0 * -123_456_789 + 987_654_321) })
        try writer.add(name: "head.scale", shape: [1, 4], values: (0..<4).map { Float($0) * 0.25 - 0.5 })
        try writer.add(name: "empty", shape: [0, 3], values: [Int8]())
        try writer.add(name: "requant.shift", shape: [2], values: (0..<2).map { Int64($0) * -(1 << 40) + (1 << 62) })
        try writer.add(name: "scalar", shape: [], values: [Int32(-7)])
        return writer
    }

    @Test func pythonWrittenFixtureLoads() throws {
        let file = try ModelFile.load(path: Self.fixture)
        let expected = try ModelFile.parse(bytes: Self.fixtureTensors().serialize())
        #expect(file.tensors.map(\.name) == expected.tensors.map(\.name))
        for entry in expected.tensors {
            let got = try #require(file.tensor(named: entry.name))
            #expect(got.dtype == entry.dtype && got.shape == entry.shape, "\(entry.name)")
            #expect(Array(try file.rawBytes(entry.name)) == Array(try expected.rawBytes(entry.name)), "\(entry.name)")
        }
        #expect(Array(try file.int64("requant.shift")) == [1 << 62, (1 << 62) - (1 << 40)])
        #expect(Array(try file.float32("head.scale")) == [-0.5, -0.25, 0, 0.25])

        struct Meta: Decodable { var labels: [String]; var note: String; var quantization: [String: Double] }
        let meta = try file.decodeMetadata(Meta.self)
        #expect(meta.labels == ["T-shirt/top", "Trouser", "Ankle boot"] && meta.note == "Größe 😀")
        #expect(meta.quantization["zero_point"] == -128)
    }

    @Test func swiftWriterReproducesThePythonFileByteForByte() throws {
        #expect(try readFile(Self.fixture) == Self.fixtureTensors().serialize())
    }

    @Test(.enabled(if: pythonHasNumpy, "needs /usr/bin/python3 with numpy"))
    func pythonReadsSwiftFilesAndWritesTheSameBytes() throws {
        let directory = try TemporaryDirectory()
        let swiftFile = directory.path + "/swift.lvt", pythonCopy = directory.path + "/python.lvt"
        let bytes = try sampleFile()
        try sampleWriter().write(path: swiftFile)
        let script = """
            import sys; sys.path.insert(0, sys.argv[1]); import modelfile as m
            f = m.load(sys.argv[2])
            assert f.tensors["bias.i32"].tolist() == [-2**31, -1, 0, 2**31 - 1]
            assert f.tensors["scale.f32"].shape == () and f.tensors["empty.f32"].shape == (0, 4)
            m.write(sys.argv[3], f.metadata_json, list(f.tensors.items()))
            """
        #expect(try runPython(script, [repositoryRoot + "/Tools/lavit_ref", swiftFile, pythonCopy]) == 0)
        #expect(try ModelFile.load(path: pythonCopy).tensors == ModelFile.parse(bytes: bytes).tensors)
        #expect(try readFile(pythonCopy) == bytes)
    }

    /// Differential test: both readers must give the same verdict on the same JSON documents and on
    /// files with resealed structural damage.
    @Test(.enabled(if: pythonHasNumpy, "needs /usr/bin/python3 with numpy"))
    func bothReadersAgree() throws {
        let directory = try TemporaryDirectory()
        var files: [[UInt8]] = []
        for text in JSONCorpus.accepted + JSONCorpus.rejected {
            var craft = Craft()
            craft.metadata = Array(text.utf8)
            files.append(craft.bytes())
        }
        let sample = try sampleFile()
        let tableEnd = sample.record(6).byteCount + 8
        var random = SplitMix64(seed: 42)
        for _ in 0..<400 {
            var damaged = sample
            for _ in 0...(random.next() % 3) {
                // Mostly header and table fields, where structure lives; sometimes anywhere.
                let limit = random.next() % 4 == 0 ? sample.count : tableEnd
                let position = Int(random.next() % UInt64(limit))
                damaged[position] = random.next() % 3 == 0 ? UInt8(truncatingIfNeeded: random.next()) : damaged[position] ^ 1
            }
            damaged.reseal()
            files.append(damaged)
        }
        for (i, file) in files.enumerated() { try writeFile(directory.path + "/\(i).lvt", file) }

        let script = """
            import sys; sys.path.insert(0, sys.argv[1]); import modelfile as m
            verdicts = []
            for i in range(int(sys.argv[3])):
                try:
                    m.load(f"{sys.argv[2]}/{i}.lvt"); verdicts.append("1")
                except ValueError:
                    verdicts.append("0")
            open(f"{sys.argv[2]}/verdicts", "w").write("".join(verdicts))
            """
        #expect(try runPython(script, [repositoryRoot + "/Tools/lavit_ref", directory.path, "\(files.count)"]) == 0)
        let python = try readFile(directory.path + "/verdicts").map { $0 == UInt8(ascii: "1") }
        let swift = files.map { parseError($0) == nil }
        #expect(python.count == files.count)
        for (i, (p, s)) in zip(python, swift).enumerated() where p != s {
            let swiftError = String(describing: parseError(files[i]))
            Issue.record("file \(i): Python \(p ? "accepts" : "rejects"), Swift \(s ? "accepts" : "rejects"): \(swiftError)")
        }
        #expect(swift.filter { $0 }.count >= JSONCorpus.accepted.count + 1, "some damaged files should stay valid")
        #expect(swift.filter { !$0 }.count > JSONCorpus.rejected.count, "some damaged files should be refused")
    }
}
