import Glibc
import LavitImage
import LavitTestSupport

/// Tests/Fixtures/images, found from this file's path (no SwiftPM resources).
let fixtureDirectory: String = {
    var path = #filePath
    while let last = path.last, last != "/" { path.removeLast() }
    return path + "../Fixtures/images/"
}()

func fixture(_ name: String) -> String { fixtureDirectory + name }

struct TestIOError: Error, CustomStringConvertible {
    var description: String
}

/// The bytes of a file, read independently of LavitImage's own reader.
func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw TestIOError(description: "cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        bytes += chunk.prefix(n)
        if n < chunk.count { break }
    }
    return bytes
}

/// One line of manifest.tsv, as written by Tools/make_image_fixtures.py.
struct ManifestRow: Sendable, CustomStringConvertible {
    var fields: [String]

    var kind: String { fields[0] }
    var file: String { fields[1] }
    func int(_ index: Int) -> Int { Int(fields[index]) ?? -1 }
    var description: String { fields[1] + (kind == "pre" ? " -> \(fields[4])x\(fields[5])x\(fields[6])" : "") }
}

/// All rows of one kind; empty when the manifest is missing, which `manifestIsComplete` catches.
func manifest(_ kind: String) -> [ManifestRow] {
    guard let bytes = try? readFile(fixture("manifest.tsv")) else { return [] }
    return String(decoding: bytes, as: UTF8.self)
        .split(separator: "\n")
        .map { ManifestRow(fields: $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)) }
        .filter { $0.kind == kind }
}

/// The error a decode threw, or nil when it returned an image.
func decodeError(_ bytes: [UInt8]) -> ImageError? {
    do {
        _ = try ImageDecoder.decode(bytes: bytes)
        return nil
    } catch {
        return error
    }
}
