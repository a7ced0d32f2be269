import LavitChecksum
import Testing
@testable import LavitModelFile
import LavitTestSupport

/// Each check of the reader, reached by a crafted or edited file whose checksum is resealed so the
/// edit gets past the checksum to the check it targets.
struct ValidationTests {
    typealias Span = ModelFileError.Span

    private func edited(_ edit: (inout [UInt8]) throws -> Void) throws -> [UInt8] {
        var bytes = try sampleFile()
        try edit(&bytes)
        bytes.reseal()
        return bytes
    }

    @Test func writerMatchesTheHandLaidLayout() throws {
        var writer = try ModelFileWriter(metadataJSON: Array(#"{"k":1}"#.utf8))
        try writer.add(name: "a", shape: [3], values: [Int8(1), 2, 3])
        try writer.add(name: "bé", shape: [1, 1], values: [Int32(-2)])
        var craft = Craft()
        craft.metadata = Array(#"{"k":1}"#.utf8)
        craft.count = 2
        craft.table = Craft.record(Array("a".utf8), dtype: 0, dims: [3], offset: 0, byteCount: 3)
            + Craft.record(Array("bé".utf8), dtype: 3, dims: [1, 1], offset: 64, byteCount: 4)
        craft.data = [1, 2, 3] + [UInt8](repeating: 0, count: 61) + [0xFE, 0xFF, 0xFF, 0xFF]
        #expect(writer.serialize() == craft.bytes())
    }

    @Test func shorterThanHeader() {
        let error = parseError(Array("LAVITQ8\0".utf8) + [1, 0, 0, 0])
        #expect(error?.reason == .shorterThanHeader(size: 12))
        #expect(error?.description == "model.lvt: file is 12 bytes, shorter than the 64-byte header")
    }

    @Test func badMagicSaysWhatTheFileLooksLike() {
        let zip = parseError(Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 100))
        #expect(zip?.description.contains("bad magic 50 4b 03 04") == true)
        #expect(zip?.description.contains(".pth") == true)

        var safetensors = [UInt8](repeating: 0, count: 8)
        safetensors.put(UInt64(60), at: 0)
        safetensors += Array(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8) + [0, 0, 0, 0]
        #expect(parseError(safetensors)?.description.contains("safetensors") == true)

        let other = parseError([UInt8](repeating: 7, count: 64))
        #expect(other?.reason == .badMagic(found: [7, 7, 7, 7, 7, 7, 7, 7], looksLike: nil))
        #expect(other?.description.contains("not a lavit model file") == true)
    }

    @Test func newerVersionSaysWhich() throws {
        let error = parseError(try edited { $0.put(UInt32(2), at: 8) })
        #expect(error?.reason == .unsupportedVersion(2))
        #expect(error?.description == "model.lvt: version 2 is newer than this reader supports (1)")
        #expect(parseError(try edited { $0.put(UInt32(0), at: 8) })?.reason == .unsupportedVersion(0))
    }

    @Test func unknownFlags() throws {
        #expect(parseError(try edited { $0.put(UInt32(4), at: 12) })?.reason == .unknownFlags(4))
    }

    @Test func fileSizeFieldDisagreesWithTheFile() throws {
        let bytes = try sampleFile()
        let truncated = parseError(Array(bytes.dropLast(10)))
        #expect(truncated?.reason == .fileSizeMismatch(header: UInt64(bytes.count), actual: bytes.count - 10))
        #expect(truncated?.description.hasSuffix("(truncated)") == true)
        let extended = parseError(bytes + [0])
        #expect(extended?.reason == .fileSizeMismatch(header: UInt64(bytes.count), actual: bytes.count + 1))
        #expect(extended?.description.contains("extended") == true)
    }

    @Test func checksumMismatchReportsBothValues() throws {
        var bytes = try sampleFile()
        let stored = bytes.u32(at: 52)
        bytes[bytes.count - 1] ^= 0x40
        guard case .checksumMismatch(let s, let computed)? = parseError(bytes)?.reason else {
            Issue.record("expected a checksum mismatch"); return
        }
        #expect(s == stored && computed != stored)
        var zeroed = bytes
        zeroed.put(UInt32(0), at: 52)
        #expect(computed == zeroed.withUnsafeBytes { CRC32.update(0, $0) })

        var field = try sampleFile()
        field.put(stored ^ 1, at: 52)
        #expect(parseError(field)?.reason == .checksumMismatch(stored: stored ^ 1, computed: stored))
    }

    @Test func dataOffsetChecks() throws {
        #expect(parseError(try edited { $0.put($0.u64(at: 56) + 8, at: 56) })?.reason == .misalignedDataOffset(392))
        #expect(parseError(try edited { $0.put(UInt64(0), at: 56) })?.reason
            == .sectionStartsInHeader(section: "data section", offset: 0))
        let bytes = try sampleFile()
        let past = UInt64(bytes.count + 64) / 64 * 64
        #expect(parseError(try edited { $0.put(past, at: 56) })?.reason
            == .sectionPastEnd(section: "data section", offset: past, size: 0, fileSize: UInt64(bytes.count)))
    }

    @Test func metadataRangeChecks() throws {
        let size = UInt64(try sampleFile().count)
        let huge = UInt64.max - 3
        #expect(parseError(try edited { $0.put(huge, at: 24) })?.reason
            == .sectionOverflow(section: "metadata", offset: huge, size: 41))
        #expect(parseError(try edited { $0.put(UInt64(8), at: 24) })?.reason
            == .sectionStartsInHeader(section: "metadata", offset: 8))
        #expect(parseError(try edited { $0.put(UInt64(size), at: 32) })?.reason
            == .sectionPastEnd(section: "metadata", offset: 64, size: size, fileSize: size))
        #expect(parseError(try edited { $0.put(UInt64(400), at: 32) })?.reason
            == .sectionsOverlap(Span(name: "metadata", start: 64, end: 464), Span(name: "data section", start: 384, end: size)))
    }

    @Test func metadataMustBeUTF8JSONObject() throws {
        let notUTF8 = parseError(try edited { $0[64 + 33] = 0xFF })
        #expect(notUTF8?.reason == .metadataNotUTF8(byteOffset: 33))

        for text in JSONCorpus.rejected {
            var craft = Craft()
            craft.metadata = Array(text.utf8)
            guard case .metadataNotJSONObject(let detail)? = parseError(craft.bytes())?.reason else {
                Issue.record("metadata \(text.debugDescription) gave \(String(describing: parseError(craft.bytes())))"); continue
            }
            #expect(!detail.contains("\n"))
            #expect(modelFileError { _ = try ModelFileWriter(metadataJSON: Array(text.utf8)) } != nil)
        }
    }

    @Test func strictJSONAcceptsWhatPythonAccepts() throws {
        for text in JSONCorpus.accepted {
            var craft = Craft()
            craft.metadata = Array(text.utf8)
            #expect(parseError(craft.bytes()) == nil, "\(text.debugDescription)")
        }
    }

    @Test func tableCountAndTruncation() throws {
        let count = parseError(try edited { $0.put(UInt32.max, at: 48) })
        guard case .tensorCountTooLarge(UInt32.max, _)? = count?.reason else {
            Issue.record("\(String(describing: count))"); return
        }

        var craft = Craft()
        craft.count = 1
        craft.table = Array(Craft.record(Array("x".utf8), dtype: 0, dims: [1, 1, 1], offset: 0, byteCount: 1).prefix(25))
        craft.tableOffset = 128
        craft.dataOffset = 128
        let truncated = craft.bytes()
        #expect(parseError(truncated)?.reason
            == .tableTruncated(index: 0, field: "dims", position: 133, fileSize: truncated.count))
    }

    @Test func names() throws {
        let r0 = try sampleFile().record(0)
        let r1 = try sampleFile().record(1)
        #expect(parseError(try edited { $0.put(UInt16(0), at: r0.nameLength) })?.reason
            == .badNameLength(index: 0, length: 0))
        #expect(parseError(try edited { $0.put(UInt16(300), at: r0.nameLength) })?.reason
            == .badNameLength(index: 0, length: 300))
        #expect(parseError(try edited { $0[r1.name + 2] = 0xC0; $0[r1.name + 3] = 0x80 })?.reason
            == .nameNotUTF8(index: 1, byteOffset: 2))
        let duplicate = parseError(try edited { $0.replaceSubrange(r1.name..<r1.name + 4, with: Array("w.i8".utf8)) })
        #expect(duplicate?.reason == .duplicateName("w.i8", firstIndex: 0, index: 1))
        #expect(duplicate?.description == "model.lvt: tensor #1: name 'w.i8' is already used by tensor #0")
    }

    @Test func dtypeRankAndShape() throws {
        let r0 = try sampleFile().record(0)
        #expect(parseError(try edited { $0[r0.dtype] = 6 })?.reason == .unknownDType(tensor: "w.i8", code: 6))
        #expect(parseError(try edited { $0[r0.rank] = 9 })?.reason == .rankTooLarge(tensor: "w.i8", rank: 9))
        #expect(parseError(try edited { $0.put(UInt64(1) << 62, at: r0.dims) })?.reason
            == .shapeTooLarge(tensor: "w.i8", shape: [1 << 62, 5], dtype: .int8))
        #expect(parseError(try edited { $0.put(UInt64.max, at: r0.dims); $0.put(UInt64(0), at: r0.dims + 8) })?.reason
            == .shapeTooLarge(tensor: "w.i8", shape: [UInt64.max, 0], dtype: .int8))
        #expect(parseError(try edited { $0.put(UInt64(16), at: r0.byteCount) })?.reason
            == .byteCountMismatch(tensor: "w.i8", byteCount: 16, expected: 15, shape: [3, 5], dtype: .int8))
    }

    @Test func tensorPlacement() throws {
        let bytes = try sampleFile()
        let dataSize = UInt64(bytes.count) - bytes.u64(at: 56)
        let r0 = bytes.record(0), r1 = bytes.record(1), r6 = bytes.record(6)

        #expect(parseError(try edited { $0.put(UInt64(65), at: r1.offset) })?.reason
            == .misalignedTensor(tensor: "w.u8", offset: 65))
        let past = parseError(try edited { $0.put($0.u64(at: r6.offset) + 64, at: r6.offset) })
        let moved = bytes.u64(at: r6.offset) + 64
        #expect(past?.reason == .tensorPastEnd(tensor: "shift.i64", offset: moved, byteCount: 16, dataSize: dataSize))
        #expect(past?.description
            == "model.lvt: tensor 'shift.i64' offset \(moved) + 16 bytes runs past the data section (\(dataSize) bytes)")
        let wrap = UInt64.max - 63
        #expect(parseError(try edited { $0.put(wrap, at: r6.offset) })?.reason
            == .tensorPastEnd(tensor: "shift.i64", offset: wrap, byteCount: 16, dataSize: dataSize))
        // A shape whose product fits but whose bytes exceed the whole file.
        #expect(parseError(try edited { $0.put(UInt64(1) << 40, at: r0.dims); $0.put(UInt64(5) << 40, at: r0.byteCount) })?.reason
            == .tensorPastEnd(tensor: "w.i8", offset: 0, byteCount: 5 << 40, dataSize: dataSize))
        #expect(parseError(try edited { $0.put(UInt64(0), at: r1.offset) })?.reason
            == .tensorsOverlap(Span(name: "tensor 'w.i8'", start: 0, end: 15), Span(name: "tensor 'w.u8'", start: 0, end: 7)))
    }

    @Test func sectionsOverlap() throws {
        let bytes = try sampleFile()
        let tableEnd = UInt64(bytes.record(6).byteCount + 8)
        let size = UInt64(bytes.count)
        #expect(parseError(try edited { $0.put(UInt64(320), at: 56) })?.reason
            == .sectionsOverlap(
                Span(name: "tensor table", start: 105, end: tableEnd), Span(name: "data section", start: 320, end: size)))

        var emptyTableInMetadata = Craft()
        emptyTableInMetadata.metadata = Array(#"{"a":1}"#.utf8)
        emptyTableInMetadata.tableOffset = 66
        #expect(parseError(emptyTableInMetadata.bytes())?.reason
            == .sectionsOverlap(Span(name: "metadata", start: 64, end: 71), Span(name: "tensor table", start: 66, end: 66)))

        // A table whose first record starts on the metadata's closing brace: name_len reads as 0x007D.
        var shared = Craft()
        shared.tableOffset = 65
        shared.count = 1
        shared.table = Array(Craft.record([UInt8](repeating: 97, count: 125), dtype: 0, dims: [], offset: 0, byteCount: 1))
        shared.dataOffset = 256
        shared.data = [5]
        #expect(parseError(shared.bytes())?.reason
            == .sectionsOverlap(Span(name: "metadata", start: 64, end: 66), Span(name: "tensor table", start: 65, end: 210)))
    }

    @Test func paddingMustBeZero() throws {
        let bytes = try sampleFile()
        let tableEnd = bytes.record(6).byteCount + 8
        #expect(parseError(try edited { $0[tableEnd] = 1 })?.reason == .nonzeroPadding(offset: UInt64(tableEnd), value: 1))
        let afterFirstTensor = Int(bytes.u64(at: 56)) + 15
        #expect(parseError(try edited { $0[afterFirstTensor] = 0x80 })?.reason
            == .nonzeroPadding(offset: UInt64(afterFirstTensor), value: 0x80))
    }

    @Test func everyMessageIsOneLineStartingWithTheSource() throws {
        let bytes = try sampleFile()
        let r0 = bytes.record(0)
        let broken: [[UInt8]] = [
            [], Array(bytes.dropLast()), try edited { $0[r0.dtype] = 200 }, try edited { $0.put(UInt64(1), at: 24) },
        ]
        for file in broken {
            let text = try #require(parseError(file)).description
            #expect(text.hasPrefix("model.lvt: ") && !text.contains("\n"), "\(text)")
        }
    }
}
