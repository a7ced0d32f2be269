import FoundationEssentials
import LavitPublisher
import Testing

/// Encodes with a fresh writer over `capacity` bytes and returns the text, or nil on overflow.
func encoded(capacity: Int = 4096, _ body: (inout JSONWriter) -> Void) -> String? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
    defer { buffer.deallocate() }
    var writer = JSONWriter(buffer: buffer)
    body(&writer)
    return writer.overflowed ? nil : String(decoding: writer.bytes, as: UTF8.self)
}

@Suite struct JSONWriterTests {
    @Test func stringsEscapeQuotesBackslashesAndControlCharacters() throws {
        let text = "a\"b\\c\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}"
        let json = try #require(encoded { $0.string(text) })
        #expect(json == #""a\"b\\c\n\r\t\b\f\u0001\u001f\#u{7F}""#)
        // A JSON parser reads back exactly the string that went in.
        #expect(try JSONDecoder().decode(String.self, from: Data(json.utf8)) == text)
    }

    @Test func nonASCIIPassesThroughAsUTF8() throws {
        let text = "Größe 日本 🧥"
        let json = try #require(encoded { $0.string(text) })
        #expect(json == "\"\(text)\"")
        #expect(try JSONDecoder().decode(String.self, from: Data(json.utf8)) == text)
    }

    @Test func sanitizedKeepsPrintableASCIIOnlyAndShortens() {
        let bytes: [UInt8] = [0x3F, 0x00, 0xFF, 0xC3, 0x22, 0x41, 0x0A]
        #expect(encoded { $0.sanitized(bytes, limit: 40) } == "????\\\"A?")
        #expect(encoded { $0.sanitized(Array("abcdef".utf8), limit: 3) } == "abc...")
    }

    @Test(arguments: [
        (0, "0"), (7, "7"), (-1, "-1"), (1_234_567_890, "1234567890"),
        (Int64.max, "9223372036854775807"), (Int64.min, "-9223372036854775808"),
    ] as [(Int64, String)])
    func integers(value: Int64, text: String) {
        #expect(encoded { $0.integer(value) } == text)
    }

    @Test func unsignedMaximum() {
        #expect(encoded { $0.unsigned(UInt64.max) } == "18446744073709551615")
    }

    @Test(arguments: [
        (0.93124, 4, "0.9312"), (0.93125, 4, "0.9313"), (1, 4, "1.0000"), (0, 2, "0.00"), (12.4, 1, "12.4"),
        (-2.5, 0, "-3"), (-0.00001, 2, "0.00"), (123.456, 3, "123.456"), (0.05, 1, "0.1"), (Double.leastNonzeroMagnitude, 4, "0.0000"),
        (Double.nan, 2, "null"), (Double.infinity, 2, "null"), (1e300, 2, "null"),
    ] as [(Double, Int, String)])
    func fixedPoint(value: Double, decimals: Int, text: String) {
        #expect(encoded { $0.fixed(value, decimals: decimals) } == text)
    }

    @Test(arguments: [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_796_161_818_123_456_789, "2026-12-01T21:50:18.123Z"),
        (951_782_400_000_000_000, "2000-02-29T00:00:00.000Z"),  // leap day of a century leap year
        (4_107_542_399_999_000_000, "2100-02-28T23:59:59.999Z"),  // 2100 is not a leap year
        (4_107_542_400_000_000_000, "2100-03-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-86_400_000_000_000, "1969-12-31T00:00:00.000Z"),
        (Int64.max, "2262-04-11T23:47:16.854Z"),
        (Int64.min, "1677-09-21T00:12:43.145Z"),
    ] as [(Int64, String)])
    func isoTime(nanoseconds: Int64, text: String) {
        #expect(encoded { $0.isoTime(wallNanoseconds: nanoseconds) } == "\"\(text)\"")
    }

    @Test func overflowStopsAndIsReported() {
        #expect(encoded(capacity: 5) { $0.string("too long") } == nil)
        #expect(encoded(capacity: 10) { $0.string("fits") } == "\"fits\"")
    }

    @Test func resultObject() throws {
        var prediction = makePrediction(46)
        prediction.topCount = 2
        prediction.labelIndices[1] = 99  // no such label: written as null, not a crash
        prediction.skipped = 3
        let line = try #require(encoded { $0.result(prediction, labels: testModel.labels, topK: 5, dropped: 4) })
        #expect(line == #"{"class":"result","seq":46,"mono_ns":\#(prediction.monotonicNanoseconds),"time":"2026-12-01T21:50:18.123Z","top":[{"label":"Shirt","index":6,"score":0.5000},{"label":null,"index":99,"score":0.2500}],"grab_ms":1.200,"decode_ms":2.346,"infer_ms":10.000,"skipped":3,"dropped":4}"# + "\n")
        let one = try #require(encoded { $0.result(prediction, labels: testModel.labels, topK: 1, dropped: 0) })
        let message = try decode(one)
        #expect(message.top?.count == 1 && message.dropped == nil)
    }

    @Test func helloAndStatusObjectsParse() throws {
        let hello = try decode(try #require(encoded { $0.hello(model: testModel, device: "/dev/video0") }))
        #expect(hello.class == "hello" && hello.protocol == 1 && hello.labels == testModel.labels && hello.model == "lavit-fashion")
        let snapshot = StatusSnapshot(
            device: "/dev/video0", online: true, reason: "streaming", fps: 29.97, frames: 10, latencyP50Milliseconds: 12.5, clients: 3)
        let line = try #require(encoded { $0.status(snapshot) })
        #expect(line.hasPrefix(#"{"class":"status","device":"/dev/video0","online":true,"reason":"streaming","fps":29.97,"frames":10,"#))
        #expect(line.contains(#""latency_ms":{"p50":12.500,"p90":0.000,"p99":0.000},"clients":3}"#))
        #expect(try decode(line).clients == 3)
    }

    @Test func errorObjectsQuoteTheLineSafely() throws {
        let garbage: [UInt8] = [0x3F, 0x66, 0x22, 0x00, 0xFF]
        let line = try #require(encoded { $0.error(.unknown, line: garbage) })
        let message = try decode(line)
        #expect(message.class == "error")
        #expect(message.message?.hasPrefix("unknown command '?f\"??'") == true)
        #expect(try decode(try #require(encoded { $0.error(.tooLong(limit: 256), line: [UInt8]()) })).message?.contains("256") == true)
    }
}
