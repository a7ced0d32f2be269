import LavitChecksum
@testable import LavitModelFile

/// A small model file with one tensor of every dtype, including a scalar and an empty tensor.
func sampleWriter() throws -> ModelFileWriter {
    var writer = try ModelFileWriter(metadataJSON: Array(#"{"config":{"depth":2},"labels":["a","b"]}"#.utf8))
    try writer.add(name: "w.i8", shape: [3, 5], values: (0..<15).map { Int8($0 * 17 - 128) })
    try writer.add(name: "w.u8", shape: [7], values: (0..<7).map { UInt8($0 * 37) })
    try writer.add(name: "w.i16", shape: [2, 2, 3], values: (0..<12).map { Int16($0 * 5000 - 30000) })
    try writer.add(name: "bias.i32", shape: [4], values: [Int32.min, -1, 0, Int32.max])
    try writer.add(name: "scale.f32", shape: [], values: [Float(0.125)])
    try writer.add(name: "empty.f32", shape: [0, 4], values: [Float]())
    try writer.add(name: "shift.i64", shape: [2], values: [Int64.min, 0x0102_0304_0506_0708])
    return writer
}

func sampleFile() throws -> [UInt8] { try sampleWriter().serialize() }

/// Expects `body` to throw a ModelFileError and returns it.
func modelFileError(_ body: () throws -> Void) -> ModelFileError? {
    do {
        try body()
        return nil
    } catch let error as ModelFileError {
        return error
    } catch {
        return nil
    }
}

func parseError(_ bytes: [UInt8]) -> ModelFileError? {
    modelFileError { _ = try ModelFile.parse(bytes: bytes, source: "model.lvt") }
}

extension Array where Element == UInt8 {
    func u16(at offset: Int) -> UInt16 { UInt16(self[offset]) | UInt16(self[offset + 1]) << 8 }
    func u32(at offset: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(self[offset + $1]) << (8 * $1) } }
    func u64(at offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(self[offset + $1]) << (8 * $1) } }

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for i in 0..<T.bitWidth / 8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Recomputes the checksum after a deliberate edit, so the edit reaches the check it targets.
    mutating func reseal() {
        put(UInt32(0), at: 52)
        let crc = withUnsafeBytes { CRC32.update(0, $0) }
        put(crc, at: 52)
    }

    /// Byte positions of the fields of table record `index`, found by walking the table by hand
    /// (independently of the reader).
    func record(_ index: Int) -> (nameLength: Int, name: Int, dtype: Int, rank: Int, dims: Int, offset: Int, byteCount: Int) {
        var p = Int(u64(at: 40))
        for i in 0... {
            let nameLength = Int(u16(at: p))
            let rank = Int(self[p + 2 + nameLength + 1])
            let fields = (p, p + 2, p + 2 + nameLength, p + 3 + nameLength, p + 4 + nameLength,
                          p + 4 + nameLength + 8 * rank, p + 12 + nameLength + 8 * rank)
            if i == index { return fields }
            p += 20 + nameLength + 8 * rank
        }
        fatalError("unreachable")
    }
}

/// Lays a model file out by hand from `Tools/MODELFILE.md`, independently of ModelFileWriter, so
/// tests can place sections anywhere.
struct Craft {
    var metadata: [UInt8] = Array("{}".utf8)
    var metadataOffset = 64
    var table: [UInt8] = []
    var tableOffset: Int?
    var count = 0
    var dataOffset: Int?
    var data: [UInt8] = []

    func bytes() -> [UInt8] {
        let tableAt = tableOffset ?? metadataOffset + metadata.count
        let dataAt = dataOffset ?? (tableAt + table.count + 63) / 64 * 64
        let size = [metadataOffset + metadata.count, tableAt + table.count, dataAt + data.count].max()!
        var file = [UInt8](repeating: 0, count: size)
        file.replaceSubrange(0..<8, with: Array("LAVITQ8\0".utf8))
        file.put(UInt32(1), at: 8)
        file.put(UInt64(size), at: 16)
        file.put(UInt64(metadataOffset), at: 24)
        file.put(UInt64(metadata.count), at: 32)
        file.put(UInt64(tableAt), at: 40)
        file.put(UInt32(count), at: 48)
        file.put(UInt64(dataAt), at: 56)
        file.replaceSubrange(metadataOffset..<metadataOffset + metadata.count, with: metadata)
        file.replaceSubrange(tableAt..<tableAt + table.count, with: table)
        file.replaceSubrange(dataAt..<dataAt + data.count, with: data)
        file.reseal()
        return file
    }

    static func record(_ name: [UInt8], dtype: UInt8, dims: [UInt64], offset: UInt64, byteCount: UInt64) -> [UInt8] {
        var r = [UInt8](repeating: 0, count: 2)
        r.put(UInt16(name.count), at: 0)
        r += name + [dtype, UInt8(dims.count)]
        for value in dims + [offset, byteCount] {
            var field = [UInt8](repeating: 0, count: 8)
            field.put(value, at: 0)
            r += field
        }
        return r
    }
}

/// Metadata documents on either side of the line, shared by the Swift tests and the Python parity
/// check. Python's json.loads is the reference (less NaN and Infinity, which it alone allows).
enum JSONCorpus {
    static let accepted = [
        "{}", " {\"a\" : [1, -0, 0.5, -1.5e-3, 2E+10, 1e400, true, false, null]}\n",
        #"{"s":"\" \\ \/ \b \f \n \r \t \u00e9 \ud800 é 😀","o":{"":{}},"a":[[],[{}]]}"#,
        "{\"a\":1,\"a\":2}", "\r\n\t{}\t", "{\"big\":-" + String(repeating: "9", count: 5000) + "}",
        String(repeating: "{\"k\":", count: 63) + "[1]" + String(repeating: "}", count: 63),
    ]
    static let rejected = [
        "", "[1,2]", "\"{}\"", "1", "{} x", "{}{}", "{\"a\":1,}", "{\"a\":[1,]}", "{,}", "{\"a\"}", "{a:1}",
        "{'a':1}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":0x10}", "{\"a\":tru}", "{\"a\":True}",
        "\u{FEFF}{}", "{\"a\":\"\0\"}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"open}", "{\"a\":1", "{\"a\":1}\u{0}", "{\u{A0}}", "{\"a\"\u{B}:1}",
        String(repeating: "{\"k\":", count: 64) + "[1]" + String(repeating: "}", count: 64),
        "{\"a\":" + String(repeating: "[", count: 100_000),
    ]
}
