import Testing

@testable import LavitCheckpoint
import LavitTestSupport

/// Real checkpoints cut short or with bytes flipped: loading must throw a one-line error or
/// succeed, never crash.
@Suite struct DamagedFileTests {
    @Test func truncatedPthAlwaysFails() throws {
        let file = try Fixtures.bytes(Fixtures.golden("multi", "model.pth"))
        let zip = try ZipArchive(file)
        let pickle = try #require(zip.entries.first { $0.name.hasSuffix("/data.pkl") })
        let lastData = try #require(zip.entries.map(\.data).max { $0.upperBound < $1.upperBound })
        // Where the cuts land: in the central directory, mid-entry, mid-pickle, in the EOCD.
        var cuts = Set(stride(from: 0, to: file.count, by: 997))
        cuts.formUnion([
            1, 4, 22, pickle.data.lowerBound + pickle.data.count / 2, lastData.upperBound - 1,
            lastData.upperBound + 10, file.count - 23, file.count - 10, file.count - 1,
        ])
        for length in cuts.sorted() {
            let error = expectFailure(length < 4 ? .unrecognized : .malformed, ["cut.pth"]) {
                try Checkpoint.decode(Array(file[..<length]), name: "cut.pth")
            }
            if length >= 22 {
                #expect(
                    error?.reason.contains("end-of-central-directory") == true,
                    "\(length): \(String(describing: error))")
            }
        }
    }

    @Test func truncatedSafetensorsAlwaysFails() throws {
        let file = try Fixtures.bytes(Fixtures.golden("multi", "model.safetensors"))
        for length in Set(stride(from: 0, to: file.count, by: 1009)).union([7, 8, 9, 100, file.count - 1]).sorted() {
            expectFailure(length < 9 ? .unrecognized : .malformed, ["cut.safetensors"]) {
                try Checkpoint.decode(Array(file[..<length]), name: "cut.safetensors")
            }
        }
    }

    /// 200 single-byte flips per file at seeded positions. The zip files carry CRCs over every
    /// entry, so a .pth either fails or loads exactly the original tensors.
    @Test(arguments: ["model.pth", "model.safetensors"])
    func flippedBytes(file: String) throws {
        let original = try Fixtures.bytes(Fixtures.golden("multi", file))
        let reference = try Checkpoint.decode(original, name: file)
        var random = SplitMix64(state: 0x1A517 &+ UInt64(file.utf8.count))
        var failures = 0
        for _ in 0..<200 {
            var damaged = original
            let at = Int.random(in: 0..<damaged.count, using: &random)
            damaged[at] ^= UInt8.random(in: 1...255, using: &random)
            if try !Self.loadOrFail(damaged, name: file, expecting: reference.format == .torchZip ? reference : nil) {
                failures += 1
            }
        }
        // The flips did reach something that is checked.
        if reference.format == .torchZip { #expect(failures > 0) }
    }

    /// The flips above mostly land in weights. These land in the structure: the safetensors JSON
    /// header, and the pickle, re-zipped with a fresh CRC so the unpickler really runs on it.
    @Test func flippedHeaderBytes() throws {
        let original = try Fixtures.bytes(Fixtures.golden("multi", "model.safetensors"))
        let headerEnd = 8 + original[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var random = SplitMix64(state: 0x5AFE)
        for _ in 0..<200 {
            var damaged = original
            damaged[Int.random(in: 0..<headerEnd, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            _ = try Self.loadOrFail(damaged, name: "header.safetensors", expecting: nil)
        }
    }

    @Test func flippedPickleBytes() throws {
        let zip = try ZipArchive(Fixtures.bytes(Fixtures.golden("multi", "model.views.pth")))
        var entries = [ZipBuilder.Entry]()
        for entry in zip.entries {
            let data = Array(try zip.contents(of: entry))
            entries.append(
                .init(name: entry.name, data: data, crc: entry.name.hasSuffix("/data.pkl") ? nil : entry.crc))
        }
        let pickleIndex = try #require(entries.firstIndex { $0.name.hasSuffix("/data.pkl") })
        let pickle = entries[pickleIndex].data
        var random = SplitMix64(state: 0x91C)
        var failures = 0
        for _ in 0..<200 {
            var damaged = pickle
            damaged[Int.random(in: 0..<damaged.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            entries[pickleIndex].data = damaged
            if try !Self.loadOrFail(ZipBuilder.build(entries), name: "pickle.pth", expecting: nil) { failures += 1 }
        }
        #expect(failures > 0)
    }

    /// Loads damaged bytes: true if they loaded (and then match `expecting`, when given), false if
    /// they threw a proper one-line error.
    static func loadOrFail(_ bytes: [UInt8], name: String, expecting: Checkpoint?) throws -> Bool {
        do {
            let loaded = try Checkpoint.decode(bytes, name: name)
            if let expecting { #expect(loaded.tensors == expecting.tensors, "a flip changed tensors silently") }
            return true
        } catch {
            #expect(!error.description.contains("\n") && error.description.hasPrefix(name + ": "), "\(error)")
            return false
        }
    }
}
