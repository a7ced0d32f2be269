import Glibc
import Testing
@testable import LavitModelFile

struct WriterAndIOTests {
    @Test func writerRefusesWhatTheReaderWouldRefuse() throws {
        var writer = try ModelFileWriter(metadataJSON: Array("{}".utf8))
        try writer.add(name: "a", shape: [2], values: [Int16(1), 2])
        let cases: [(String, DType, [Int], Int, ModelFileError.Reason)] = [
            ("", .int8, [1], 1, .badNameLength(index: 1, length: 0)),
            (String(repeating: "é", count: 128), .int8, [1], 1, .badNameLength(index: 1, length: 256)),
            ("a", .int8, [1], 1, .duplicateName("a", firstIndex: 0, index: 1)),
            ("r", .int8, Array(repeating: 1, count: 9), 1, .rankTooLarge(tensor: "r", rank: 9)),
            ("n", .int8, [2, -1], 0, .negativeDimension(tensor: "n", shape: [2, -1])),
            ("o", .int64, [1 << 40, 1 << 30], 0, .shapeTooLarge(tensor: "o", shape: [1 << 40, 1 << 30], dtype: .int64)),
            ("b", .int32, [3], 8, .byteCountMismatch(tensor: "b", byteCount: 8, expected: 12, shape: [3], dtype: .int32)),
        ]
        for (name, dtype, shape, count, reason) in cases {
            let bytes = [UInt8](repeating: 0, count: count)
            let error = modelFileError { try writer.add(name: name, dtype: dtype, shape: shape, bytes: bytes) }
            #expect(error == ModelFileError(source: "ModelFileWriter", reason: reason))
        }
        #expect(try ModelFile.parse(bytes: writer.serialize()).tensors.map(\.name) == ["a"])
    }

    @Test func loadReportsSystemErrors() {
        let missing = modelFileError { _ = try ModelFile.load(path: "/nonexistent/model.lvt") }
        #expect(missing?.reason == .system(call: "open", errno: ENOENT))
        #expect(missing?.description == "/nonexistent/model.lvt: open failed: No such file or directory (errno 2)")
        let directory = modelFileError { _ = try ModelFile.load(path: "/tmp") }
        #expect(directory?.reason == .notRegularFile("a directory"))
        let fifo = "/tmp/lavit-model-fifo-\(getpid())"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let blocked = modelFileError { _ = try ModelFile.load(path: fifo) }
        #expect(blocked?.description == "\(fifo): not a regular file (a FIFO)")
    }

    @Test func writeReplacesAtomicallyAndCleansUp() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/model.lvt"
        try writeFile(path, Array("old contents".utf8))
        try sampleWriter().write(path: path)
        #expect(try readFile(path) == sampleFile())
        #expect(listing(directory.path) == ["model.lvt"])

        let error = modelFileError { try sampleWriter().write(path: directory.path + "/missing/model.lvt") }
        #expect(error?.reason == .system(call: "open", errno: ENOENT))
        #expect(listing(directory.path) == ["model.lvt"])
    }
}
