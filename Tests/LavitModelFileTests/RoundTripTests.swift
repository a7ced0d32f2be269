import Glibc
import Testing
@testable import LavitModelFile

struct RoundTripTests {
    @Test func everyDTypeComesBackExactlyAndAligned() throws {
        let file = try ModelFile.parse(bytes: sampleFile())
        #expect(file.tensors.map(\.name) == ["w.i8", "w.u8", "w.i16", "bias.i32", "scale.f32", "empty.f32", "shift.i64"])
        #expect(Array(try file.int8("w.i8")) == (0..<15).map { Int8($0 * 17 - 128) })
        #expect(Array(try file.uint8("w.u8")) == (0..<7).map { UInt8($0 * 37) })
        #expect(Array(try file.int16("w.i16")) == (0..<12).map { Int16($0 * 5000 - 30000) })
        #expect(Array(try file.int32("bias.i32")) == [Int32.min, -1, 0, Int32.max])
        #expect(Array(try file.float32("scale.f32")) == [0.125])
        #expect(try file.float32("empty.f32").isEmpty)
        #expect(Array(try file.int64("shift.i64")) == [Int64.min, 0x0102_0304_0506_0708])

        let i16 = try #require(file.tensor(named: "w.i16"))
        #expect(i16.dtype == .int16 && i16.shape == [2, 2, 3] && i16.byteCount == 24 && i16.elementCount == 12)
        #expect(try #require(file.tensor(named: "scale.f32")).shape == [])
        for entry in file.tensors {
            let address = Int(bitPattern: try file.rawBytes(entry.name).baseAddress)
            #expect(address % 64 == 0, "\(entry.name) at \(address)")
            #expect(entry.offset % 64 == 0)
        }
    }

    @Test func littleEndianBytesOnDisk() throws {
        let bytes = try sampleFile()
        let file = try ModelFile.parse(bytes: bytes)
        let entry = try #require(file.tensor(named: "shift.i64"))
        let start = Int(bytes.u64(at: 56)) + entry.offset
        #expect(Array(bytes[start + 8..<start + 16]) == [8, 7, 6, 5, 4, 3, 2, 1])
    }

    @Test func scopedBytesMatchTypedView() throws {
        let file = try ModelFile.parse(bytes: sampleFile())
        let entry = try #require(file.tensor(named: "bias.i32"))
        let raw = file.withUnsafeBytes(of: entry) { Array($0) }
        #expect(raw == [0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F])
    }

    @Test func metadataRawAndDecoded() throws {
        struct Meta: Decodable, Equatable {
            struct Config: Decodable, Equatable { var depth: Int }
            var config: Config
            var labels: [String]
        }
        let file = try ModelFile.parse(bytes: sampleFile())
        #expect(String(decoding: file.metadataJSON, as: UTF8.self) == #"{"config":{"depth":2},"labels":["a","b"]}"#)
        #expect(try file.decodeMetadata(Meta.self) == Meta(config: .init(depth: 2), labels: ["a", "b"]))

        struct Wrong: Decodable { var labels: Int }
        let error = modelFileError { _ = try file.decodeMetadata(Wrong.self) }
        guard case .metadataDecoding(let type, _)? = error?.reason else { Issue.record("\(String(describing: error))"); return }
        #expect(type == "Wrong")
    }

    @Test func lookupErrorsNameTheTensor() throws {
        let file = try ModelFile.parse(bytes: sampleFile(), source: "m.lvt")
        #expect(file.tensor(named: "nope") == nil)
        let missing = modelFileError { _ = try file.int8("nope") }
        #expect(missing?.description == "m.lvt: no tensor named 'nope'")
        let wrongType = modelFileError { _ = try file.int32("w.i8") }
        #expect(wrongType?.description == "m.lvt: tensor 'w.i8' is i8, not i32")
    }

    @Test func emptyFileHasNoTensors() throws {
        let bytes = try ModelFileWriter(metadataJSON: Array("{}".utf8)).serialize()
        let file = try ModelFile.parse(bytes: bytes)
        #expect(file.tensors.isEmpty && file.metadataJSON == Array("{}".utf8))
        #expect(bytes.count == 128)
    }

    @Test func encodableMetadataIsSortedAndStable() throws {
        struct Meta: Encodable { var zeta = 1; var alpha = "x" }
        let writer = try ModelFileWriter(metadata: Meta())
        #expect(String(decoding: writer.metadataJSON, as: UTF8.self) == #"{"alpha":"x","zeta":1}"#)
    }

    @Test func loadFromDiskMatchesParse() throws {
        let path = "/tmp/lavit-modelfile-test-\(UInt32.random(in: 0...UInt32.max)).lvt"
        defer { _ = path.withCString { unlink($0) } }
        let writer = try sampleWriter()
        try writer.write(path: path)
        let loaded = try ModelFile.load(path: path)
        let parsed = try ModelFile.parse(bytes: writer.serialize(), source: path)
        #expect(loaded.tensors == parsed.tensors)
        #expect(Array(try loaded.int16("w.i16")) == Array(try parsed.int16("w.i16")))
        #expect(Int(bitPattern: try loaded.rawBytes("w.u8").baseAddress) % 64 == 0)
    }

    @Test func usableAcrossThreads() async throws {
        let file = try ModelFile.parse(bytes: sampleFile())
        let sums = await withTaskGroup(of: Int64.self) { group in
            for _ in 0..<4 {
                group.addTask { (try? file.int16("w.i16"))?.reduce(0) { $0 + Int64($1) } ?? 0 }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let expected = (0..<12).reduce(Int64(0)) { $0 + Int64($1 * 5000 - 30000) }
        #expect(sums == Array(repeating: expected, count: 4))
    }
}
