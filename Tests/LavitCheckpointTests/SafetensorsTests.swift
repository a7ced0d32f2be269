import LavitCheckpoint
import LavitModel
import Testing

/// safetensors files that lie about their own layout, each refused with a message naming the
/// field or tensor.
@Suite struct SafetensorsTests {
    /// The good multi checkpoint with one tensor's `data_offsets` text replaced and the header
    /// length rewritten to match.
    static func patchedOffsets(_ replace: (Int, Int, Int) -> (Int, Int)) throws -> (bytes: [UInt8], name: String) {
        let file = try Fixtures.bytes(Fixtures.golden("multi", "model.safetensors"))
        let headerLength = file[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = Array(file[8..<(8 + headerLength)])
        let dataLength = file.count - 8 - headerLength
        let marker = try #require(lastRange(of: "\"data_offsets\":[", in: header))
        let close = try #require(header[marker.upperBound...].firstIndex(of: UInt8(ascii: "]")))
        let numbers = String(decoding: header[marker.upperBound..<close], as: UTF8.self).split(separator: ",")
            .compactMap { Int($0) }
        try #require(numbers.count == 2)
        let (begin, end) = replace(numbers[0], numbers[1], dataLength)
        let patched = header[..<marker.upperBound] + Array("\(begin),\(end)".utf8) + header[close...]
        // The tensor's name is the last quoted key before `":{` that precedes the marker.
        let nameEnd = try #require(lastRange(of: "\":{", in: Array(header[..<marker.lowerBound])))
        let nameStart = try #require(header[..<nameEnd.lowerBound].lastIndex(of: UInt8(ascii: "\"")))
        let name = String(decoding: header[(nameStart + 1)..<nameEnd.lowerBound], as: UTF8.self)
        return (
            safetensorsFile(header: String(decoding: patched, as: UTF8.self), data: Array(file[(8 + headerLength)...])),
            name
        )
    }

    static func lastRange(of needle: String, in haystack: [UInt8]) -> Range<Int>? {
        let pattern = Array(needle.utf8)
        guard haystack.count >= pattern.count else { return nil }
        for start in stride(from: haystack.count - pattern.count, through: 0, by: -1)
        where haystack[start..<(start + pattern.count)].elementsEqual(pattern) {
            return start..<(start + pattern.count)
        }
        return nil
    }

    @Test func patchedGoodFileStillLoads() throws {
        // The patching itself must not break a file when it changes nothing.
        let (bytes, _) = try Self.patchedOffsets { begin, end, _ in (begin, end) }
        let reference = try Checkpoint.load(path: Fixtures.golden("multi", "model.safetensors"))
        #expect(try Checkpoint.decode(bytes, name: "same.safetensors").tensors == reference.tensors)
    }

    @Test func dataOffsetPastTheDataSection() throws {
        let (bytes, name) = try Self.patchedOffsets { begin, end, length in (begin + length, end + length) }
        expectFailure(.malformed, ["m.safetensors", "tensor '\(name)'", "data_offsets", "outside the"]) {
            try Checkpoint.decode(bytes, name: "m.safetensors")
        }
        let (reversed, _) = try Self.patchedOffsets { begin, end, _ in (end, begin) }
        expectFailure(.malformed, ["tensor '\(name)'", "data_offsets"]) {
            try Checkpoint.decode(reversed, name: "m.safetensors")
        }
        let (short, _) = try Self.patchedOffsets { begin, end, _ in (begin, end - 4) }
        expectFailure(.malformed, ["tensor '\(name)'", "needs"]) { try Checkpoint.decode(short, name: "m.safetensors") }
    }

    @Test func headerLengthLargerThanFile() throws {
        var file = try Fixtures.bytes(Fixtures.golden("multi", "model.safetensors"))
        file.replaceSubrange(0..<8, with: le64(UInt64(file.count)))
        expectFailure(.malformed, ["h.safetensors", "header length \(file.count)", "larger than the file"]) {
            try Checkpoint.decode(file, name: "h.safetensors")
        }
        file.replaceSubrange(0..<8, with: le64(UInt64.max))
        expectFailure(.malformed, ["header length", "exceeds"]) { try Checkpoint.decode(file, name: "h.safetensors") }
    }

    @Test func disallowedDTypeIsNamed() {
        let file = safetensorsFile(
            header: #"{"step":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)
        )
        expectFailure(.unsupported, ["tensor 'step'", "dtype 'I64'", "F32, F16, BF16, F64"]) {
            try Checkpoint.decode(file, name: "d.safetensors")
        }
        // Names from the file are quoted with their line breaks escaped, and so is the path.
        let hostile = safetensorsFile(
            header: #"{"a\nb\u2028c":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [0])
        expectFailure(.unsupported, [#"tensor 'a\nb\u{2028}c'"#, "dtype 'U8'"]) {
            try Checkpoint.decode(hostile, name: "two\nlines.safetensors")
        }
        #expect(CheckpointError(path: "a\nb", kind: .io, reason: "c\u{85}d").description == "a b: c d")
    }

    @Test func badShapesAndHeaders() {
        let negative = safetensorsFile(
            header: #"{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#,
            data: [UInt8](repeating: 0, count: 16))
        expectFailure(.malformed, ["tensor 'w'", "negative dimension"]) {
            try Checkpoint.decode(negative, name: "s.safetensors")
        }
        let huge = safetensorsFile(
            header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, data: [])
        expectFailure(.malformed, ["tensor 'w'", "overflows"]) { try Checkpoint.decode(huge, name: "s.safetensors") }
        let missing = safetensorsFile(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [])
        expectFailure(.malformed, ["safetensors header", "data_offsets"]) {
            try Checkpoint.decode(missing, name: "s.safetensors")
        }
        let notJSON = safetensorsFile(header: "{nope", data: [])
        expectFailure(.malformed, ["safetensors header"]) { try Checkpoint.decode(notJSON, name: "s.safetensors") }
        expectFailure(.unrecognized, ["r.bin", "not a safetensors file or torch zip"]) {
            try Checkpoint.decode(Array("hello world".utf8), name: "r.bin")
        }
    }

    @Test func f64WidensAndConfigErrorsAreKept() throws {
        let half = Double(0.1)
        let header =
            #"{"__metadata__":{"lavit_config":"{\"name\":\"x\"}"},"#
            + #""module.w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#
        let file = safetensorsFile(
            header: header,
            data: le64(half.bitPattern) + le64((-3.0).bitPattern))
        let checkpoint = try Checkpoint.decode(file, name: "f.safetensors")
        #expect(checkpoint.tensors == ["w": Tensor(shape: [2], data: [Float(half), -3])])
        #expect(checkpoint.storedDType == ["w": "F64"])
        #expect(checkpoint.config == nil)
        let why = try #require(checkpoint.configError)
        #expect(why.contains("lavit_config") && why.contains("image_size"), "\(why)")
    }
}
