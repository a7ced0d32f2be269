import FoundationEssentials
import LavitModel
import Testing

@testable import LavitCheckpoint

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The same weights, written by PyTorch in every format lavit reads, must come out identical.
@Suite struct FixtureLoadingTests {
    static func expectedConfig(_ name: String) throws -> Config {
        let json = try Fixtures.bytes(Fixtures.golden(name, "config.json"))
        return try JSONDecoder().decode(Config.self, from: Data(json))
    }

    @Test(arguments: Fixtures.configs)
    func safetensorsAndPthAgree(config: String) throws {
        let st = try Checkpoint.load(path: Fixtures.golden(config, "model.safetensors"))
        let pth = try Checkpoint.load(path: Fixtures.golden(config, "model.pth"))
        #expect(st.format == .safetensors)
        #expect(pth.format == .torchZip)
        #expect(!st.tensors.isEmpty)
        #expect(st.tensors == pth.tensors)
        #expect(Set(st.tensorOrder) == Set(st.tensors.keys) && st.tensorOrder.count == st.tensors.count)
        #expect(Set(pth.tensorOrder) == Set(pth.tensors.keys) && pth.tensorOrder.count == pth.tensors.count)
        #expect(Set(st.storedDType.values) == ["F32"])
        #expect(Set(pth.storedDType.values) == ["F32"])

        let expected = try Self.expectedConfig(config)
        #expect(st.config == expected)
        #expect(pth.config == expected)
        #expect(st.configError == nil && pth.configError == nil)
    }

    /// `multi` is rounded so its weights are exact in F16 and BF16: every variant equals F32.
    @Test(arguments: [
        ("model.f16.safetensors", CheckpointFormat.safetensors, "F16"),
        ("model.bf16.safetensors", .safetensors, "BF16"),
        ("model.f16.pth", .torchZip, "F16"),
        ("model.wrapped.pth", .torchZip, "F32"),
        ("model.views.pth", .torchZip, "F32"),
    ])
    func multiVariantsEqualF32(file: String, format: CheckpointFormat, dtype: String) throws {
        let reference = try Checkpoint.load(path: Fixtures.golden("multi", "model.safetensors"))
        let variant = try Checkpoint.load(path: Fixtures.golden("multi", file))
        #expect(variant.format == format)
        #expect(Set(variant.tensors.keys) == Set(reference.tensors.keys))
        for (name, tensor) in reference.tensors {
            #expect(variant.tensors[name] == tensor, "\(file): \(name)")
        }
        #expect(Set(variant.storedDType.values) == [dtype])
        if file == "model.wrapped.pth" {
            // {"state_dict": {"module.<key>": ...}, "epoch": 300} and no config.
            #expect(variant.config == nil && variant.configError == nil)
            #expect(!variant.tensorOrder.contains { $0.hasPrefix("module.") })
        } else {
            #expect(variant.config == reference.config)
        }
    }

    /// Guards the test above: if the fixture held only plain contiguous tensors it would prove nothing.
    @Test func viewsFixtureReallyHoldsViews() throws {
        let zip = try ZipArchive(Fixtures.bytes(Fixtures.golden("multi", "model.views.pth")))
        let pickle = try #require(zip.entries.first { $0.name.hasSuffix("/data.pkl") })
        let heap = try Unpickler.load(Array(zip.contents(of: pickle))).heap
        #expect(heap.tensors.contains { $0.offset > 0 })
        #expect(heap.tensors.contains { $0.strides.count == 2 && $0.strides[0] == 1 && $0.shape[0] > 1 })
        #expect(Set(heap.storages.map(\.key)).count < heap.tensors.count)
    }

    @Test(arguments: Fixtures.configs)
    func goldenVectorsLoad(config: String) throws {
        let golden = try Checkpoint.load(path: Fixtures.golden(config, "golden.safetensors"))
        #expect(!golden.tensors.isEmpty)
    }

    @Test func hashMatchesCoreutils() throws {
        let path = Fixtures.golden("multi", "model.pth")
        let checkpoint = try Checkpoint.load(path: path)
        let tool = "/usr/bin/sha256sum"
        try #require(access(tool, X_OK) == 0, "needs \(tool)")
        let pipe = try #require(popen("\(tool) '\(path)'", "r"))
        var line = [CChar](repeating: 0, count: 256)
        _ = fgets(&line, Int32(line.count), pipe)
        pclose(pipe)
        let expected = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).prefix(64)
        #expect(checkpoint.sha256 == String(expected))
    }

    @Test func missingFileNamesPathAndErrno() {
        let error = expectFailure(.io, ["/nonexistent/model.pth", "open failed", "No such file"]) {
            try Checkpoint.load(path: "/nonexistent/model.pth")
        }
        #expect(error?.path == "/nonexistent/model.pth")
        expectFailure(.io, ["not a regular file (a directory)"]) { try Checkpoint.load(path: Fixtures.root) }
        let fifo = "/tmp/lavit-checkpoint-fifo-\(getpid()).pth"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        expectFailure(.io, ["not a regular file (a FIFO)"]) { try Checkpoint.load(path: fifo) }
    }
}
