import FoundationEssentials
import LavitModel
import Testing

@testable import LavitCheckpoint

/// Hand-built torch archives: strided views, wrappers, configs and every refusal of the restricted
/// unpickler, each checked for a one-line message that names the cause.
@Suite struct TorchPickleTests {
    /// {"model": {"module.t": <view>}} over the storage 0...11 (as Float).
    static func viewArchive(offset: Int, size: [Int], stride: [Int], numel: Int = 12, zip64: Bool = false) -> [UInt8] {
        var p = PickleWriter()
        p.emptyDict()
        p.string("model")
        p.emptyDict()
        p.string("module.t")
        p.tensor(storage: "0", numel: numel, offset: offset, size: size, stride: stride)
        p.setItem()
        p.setItem()
        p.stop()
        return torchZip(pickle: p.bytes, storages: [("0", floatBytes((0..<numel).map(Float.init)))], zip64: zip64)
    }

    @Test func stridedViewsGatherRowMajor() throws {
        // The transpose of a 3x4 matrix: element (i, j) is storage[j * 4 + i].
        let transposed = try Checkpoint.decode(
            Self.viewArchive(offset: 0, size: [4, 3], stride: [1, 4]), name: "t.pth")
        #expect(transposed.tensors["t"] == Tensor(shape: [4, 3], data: [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]))
        #expect(transposed.tensorOrder == ["t"])

        // Rows 1...2, columns 2...3, from offset 6 with the parent's strides.
        let block = try Checkpoint.decode(Self.viewArchive(offset: 6, size: [2, 2], stride: [4, 1]), name: "b.pth")
        #expect(block.tensors["t"]?.data == [6, 7, 10, 11])

        // Every other element, a broadcast (stride 0) and an empty tensor.
        let everyOther = try Checkpoint.decode(Self.viewArchive(offset: 1, size: [5], stride: [2]), name: "e.pth")
        #expect(everyOther.tensors["t"]?.data == [1, 3, 5, 7, 9])
        let broadcast = try Checkpoint.decode(
            Self.viewArchive(offset: 5, size: [2, 3], stride: [0, 1]), name: "z.pth")
        #expect(broadcast.tensors["t"]?.data == [5, 6, 7, 5, 6, 7])
        let empty = try Checkpoint.decode(Self.viewArchive(offset: 12, size: [0, 3], stride: [3, 1]), name: "0.pth")
        #expect(empty.tensors["t"] == Tensor(shape: [0, 3], data: []))
    }

    @Test func zip64RecordsAreRead() throws {
        let archive = Self.viewArchive(offset: 0, size: [4, 3], stride: [1, 4], zip64: true)
        let plain = Self.viewArchive(offset: 0, size: [4, 3], stride: [1, 4])
        #expect(archive.count > plain.count)
        let checkpoint = try Checkpoint.decode(archive, name: "z64.pth")
        #expect(checkpoint.tensors == (try Checkpoint.decode(plain, name: "plain.pth")).tensors)
        // A zip64 locator that points outside the file.
        var broken = archive
        let locator = archive.count - 22 - 20
        broken.replaceSubrange((locator + 8)..<(locator + 16), with: le64(UInt64(archive.count)))
        expectFailure(.malformed, ["zip64 EOCD offset"]) { try Checkpoint.decode(broken, name: "z64.pth") }
    }

    @Test func viewPastItsStorageIsRefused() {
        // Last element would be 6 + 1 * 4 + 2 * 1 = 12 in a 12-element storage.
        expectFailure(.malformed, ["t.pth", "tensor 'module.t'", "reaches past its 12-element storage"]) {
            try Checkpoint.decode(Self.viewArchive(offset: 6, size: [2, 3], stride: [4, 1]), name: "t.pth")
        }
        // Storage claims 13 elements but its entry holds 12.
        var p = PickleWriter()
        p.emptyDict()
        p.string("w")
        p.tensor(storage: "0", numel: 13, offset: 0, size: [13], stride: [1])
        p.setItem()
        p.stop()
        expectFailure(.malformed, ["tensor 'w'", "48 bytes", "needs 52"]) {
            try Checkpoint.decode(
                torchZip(pickle: p.bytes, storages: [("0", floatBytes(Array(repeating: 1, count: 12)))]), name: "s.pth")
        }
        expectFailure(.malformed, ["tensor 'w'", "no zip entry 'archive/data/0'"]) {
            try Checkpoint.decode(torchZip(pickle: p.bytes), name: "s.pth")
        }
    }

    /// Issue 11 case 1: a size-1 dimension may carry any stride; the gather must never step by it.
    @Test func hugeStrideOnASizeOneDimensionIsHarmless() throws {
        for stride in [Int.max, Int.max - 3, 1 << 62] {
            let checkpoint = try Checkpoint.decode(
                Self.viewArchive(offset: 3, size: [1, 2, 2], stride: [stride, 2, 1]), name: "s.pth")
            #expect(checkpoint.tensors["t"]?.data == [3, 4, 5, 6])
            let inner = try Checkpoint.decode(
                Self.viewArchive(offset: 3, size: [2, 1, 2], stride: [4, stride, 1]), name: "s.pth")
            #expect(inner.tensors["t"]?.data == [3, 4, 7, 8])
        }
    }

    /// Issue 11 case 2: a broadcast view larger than its storage is refused before allocating.
    @Test func broadcastViewLargerThanItsStorageIsRefused() {
        for elements in [13, 1 << 28, 1 << 40, 1 << 62] {
            expectFailure(.malformed, ["b.pth", "tensor 'module.t'", "elements, more than its 12-element storage holds"]) {
                try Checkpoint.decode(
                    Self.viewArchive(offset: 0, size: [elements], stride: [0]), name: "b.pth")
            }
        }
        expectFailure(.malformed, ["element count for shape"]) {
            try Checkpoint.decode(Self.viewArchive(offset: 0, size: [1 << 32, 1 << 32], stride: [0, 0]), name: "b.pth")
        }
    }

    @Test func configFromPickledDict() throws {
        let expected = Config(
            name: "tiny", imageSize: [32, 16], numClasses: 10, patchSize: 4, embedDims: [8], depths: [1],
            numHeads: [2], numVA: [1], srRatios: [1], mlpRatios: [2], lnEps: 1e-5)
        var p = PickleWriter()
        p.emptyDict()
        p.mark()
        p.string("lavit_config")
        p.emptyDict()
        p.mark()
        p.string("name")
        p.string("tiny")
        p.string("image_size")
        p.intTuple([32, 16])
        p.string("num_classes")
        p.int(10)
        p.string("patch_size")
        p.int(4)
        for (key, value) in [
            ("embed_dims", 8), ("depths", 1), ("num_heads", 2), ("num_va", 1), ("sr_ratios", 1), ("mlp_ratios", 2),
        ] {
            p.string(key)
            p.op(0x5D)  // EMPTY_LIST
            p.int(Int32(value))
            p.op(0x61)  // APPEND
        }
        p.string("ln_eps")
        p.float(1e-5)
        p.string("attention_residual")
        p.bool(true)
        p.setItems()
        p.string("model")
        p.emptyDict()
        p.string("w")
        p.tensor(storage: "0", type: "HalfStorage", numel: 2, offset: 0, size: [2], stride: [1])
        p.setItem()
        p.string("epoch")
        p.int(300)
        p.setItems()
        p.stop()
        // 1.0 and -2.5 in binary16.
        let archive = torchZip(pickle: p.bytes, storages: [("0", [0x00, 0x3C, 0x00, 0xC1])])
        let checkpoint = try Checkpoint.decode(archive, name: "c.pth")
        #expect(checkpoint.config == expected)
        #expect(checkpoint.configError == nil)
        #expect(checkpoint.tensors["w"]?.data == [1, -2.5])
        #expect(checkpoint.storedDType["w"] == "F16")
    }

    @Test func unusableConfigIsReportedNotThrown() throws {
        var p = PickleWriter()
        p.emptyDict()
        p.string("lavit_config")
        p.emptyDict()
        p.string("name")
        p.float(.nan)
        p.setItem()
        p.setItem()
        p.string("w")
        p.tensor(storage: "0", numel: 1, offset: 0, size: [], stride: [])
        p.setItem()
        p.stop()
        let checkpoint = try Checkpoint.decode(
            torchZip(pickle: p.bytes, storages: [("0", floatBytes([4]))]), name: "c.pth")
        #expect(checkpoint.tensors["w"] == Tensor(shape: [], data: [4]))
        #expect(checkpoint.config == nil)
        let why = try #require(checkpoint.configError)
        #expect(why.contains("lavit_config") && why.contains("nan"), "\(why)")
    }

    @Test func forbiddenGlobalsAreNamed() throws {
        expectFailure(
            .forbidden, ["forbidden_global.pth", "forbidden global 'posix.system'", "only state-dict globals"]
        ) {
            try Checkpoint.load(path: Fixtures.bad("forbidden_global.pth"))
        }
        // The same through STACK_GLOBAL (protocol 4), which takes its names from the stack.
        var p = PickleWriter()
        p.bytes = [0x80, 0x04]
        p.string("builtins")
        p.string("eval")
        p.op(0x93)
        p.stop()
        expectFailure(.forbidden, ["e.pth", "'builtins.eval'"]) {
            try Checkpoint.decode(torchZip(pickle: p.bytes), name: "e.pth")
        }
        // An allowed global used for something a state dict never does.
        var q = PickleWriter()
        q.global("torch", "FloatStorage")
        q.op(0x29)
        q.reduce()
        q.stop()
        expectFailure(.malformed, ["torch.FloatStorage", "persistent id"]) {
            try Checkpoint.decode(torchZip(pickle: q.bytes), name: "f.pth")
        }
    }

    @Test func legacyFormatIsRefusedWithAdvice() {
        expectFailure(.unsupported, ["legacy.pth", "legacy", "zip format"]) {
            try Checkpoint.load(path: Fixtures.bad("legacy.pth"))
        }
    }

    @Test func unknownOpcodeIsNamedWithItsOffset() {
        expectFailure(.unsupported, ["u.pth", "'archive/data.pkl'", "opcode 0xff at offset 3"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x02, 0x7D, 0xFF, 0x2E]), name: "u.pth")
        }
    }

    @Test func pickleMachineIsBounded() {
        let deep = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 65)
        expectFailure(.malformed, ["nests deeper than 64"]) {
            try Checkpoint.decode(torchZip(pickle: deep), name: "d.pth")
        }
        expectFailure(.malformed, ["unset memo slot 7"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x02, 0x68, 0x07, 0x2E]), name: "m.pth")
        }
        expectFailure(.malformed, ["stack underflow"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x02, 0x28, 0x73, 0x2E]), name: "s.pth")
        }
        expectFailure(.unsupported, ["protocol 9"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x09, 0x2E]), name: "p.pth")
        }
        expectFailure(.unsupported, ["wider than 64 bits"]) {
            try Checkpoint.decode(
                torchZip(pickle: [0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 1, count: 9) + [0x2E]), name: "l.pth")
        }
        expectFailure(.malformed, ["holds a list, not a dict"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x02, 0x5D, 0x2E]), name: "r.pth")
        }
        let tall = [0x80, 0x02] + [UInt8](repeating: 0x4E, count: Unpickler.maxStack + 1)  // NONE
        expectFailure(.malformed, ["stack grows past \(Unpickler.maxStack)"]) {
            try Checkpoint.decode(torchZip(pickle: tall), name: "t.pth")
        }
        let wide = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x94, count: Unpickler.maxMemo + 1)  // MEMOIZE
        expectFailure(.malformed, ["memo grows past \(Unpickler.maxMemo)"]) {
            try Checkpoint.decode(torchZip(pickle: wide), name: "w.pth")
        }
        expectFailure(.malformed, ["no tensors in the state dict"]) {
            try Checkpoint.decode(torchZip(pickle: [0x80, 0x02, 0x7D, 0x2E]), name: "n.pth")
        }
    }

    /// Every prefix of a real data.pkl, re-zipped intact, is a truncated pickle.
    @Test func truncatedPickleAtEveryLength() throws {
        let pickle = [UInt8](try realPickle().prefix(2000))
        for length in 0..<pickle.count {
            let archive = torchZip(pickle: Array(pickle[..<length]))
            expectFailure(.malformed, ["'archive/data.pkl'", "truncated"]) {
                try Checkpoint.decode(archive, name: "cut.pth")
            }
        }
    }

    @Test func compressedEntryIsNamed() {
        let zip = ZipBuilder.build([
            .init(name: "archive/data.pkl", data: [0x80, 0x02, 0x7D, 0x2E], method: 8),
            .init(name: "archive/version", data: Array("3\n".utf8)),
        ])
        expectFailure(.unsupported, ["z.pth", "'archive/data.pkl' is compressed (method 8)"]) {
            try Checkpoint.decode(zip, name: "z.pth")
        }
    }

    @Test func archiveLayoutChecks() {
        let pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x2E]
        expectFailure(.unsupported, ["'archive/byteorder' is 'big'"]) {
            try Checkpoint.decode(
                torchZip(pickle: pickle, extra: [.init(name: "archive/byteorder", data: Array("big".utf8))]),
                name: "b.pth")
        }
        expectFailure(.malformed, ["no '<archive>/data.pkl' entry"]) {
            try Checkpoint.decode(ZipBuilder.build([.init(name: "data.pkl", data: pickle)]), name: "x.pth")
        }
        expectFailure(.malformed, ["two entries named 'archive/version'"]) {
            try Checkpoint.decode(
                torchZip(pickle: pickle, extra: [.init(name: "archive/version", data: [0x33])]), name: "x.pth")
        }
        var damaged = torchZip(pickle: [0x80, 0x02, 0x7D, 0x2E])
        damaged[30 + "archive/data.pkl".utf8.count + 2] ^= 0x01  // inside data.pkl
        expectFailure(.malformed, ["'archive/data.pkl' fails its CRC-32 check"]) {
            try Checkpoint.decode(damaged, name: "x.pth")
        }
    }

    @Test func modulePrefixCollisionIsRefused() {
        var p = PickleWriter()
        p.emptyDict()
        p.mark()
        p.string("module.w")
        p.tensor(storage: "0", numel: 1, offset: 0, size: [1], stride: [1])
        p.string("w")
        p.tensor(storage: "0", numel: 1, offset: 0, size: [1], stride: [1])
        p.setItems()
        p.stop()
        expectFailure(.malformed, ["tensor 'w' appears twice"]) {
            try Checkpoint.decode(torchZip(pickle: p.bytes, storages: [("0", floatBytes([1]))]), name: "m.pth")
        }
    }

    private func realPickle() throws -> [UInt8] {
        let zip = try ZipArchive(Fixtures.bytes(Fixtures.golden("multi", "model.pth")))
        let entry = try #require(zip.entries.first { $0.name.hasSuffix("/data.pkl") })
        return Array(try zip.contents(of: entry))
    }
}
