import FoundationEssentials

/// `Tests/Fixtures/`, found from this file's path so tests run from any directory.
let fixtures: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    while let last = parts.last, last != "Tests" { parts.removeLast() }
    return parts.joined(separator: "/") + "/Fixtures/"
}()

func writeText(_ text: String, to path: String) throws {
    try Data(text.utf8).write(to: URL(filePath: path))
}

func readBytes(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(filePath: path)))
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(filePath: path))
}

func copyFile(_ from: String, to: String) throws {
    try writeBytes(readBytes(from), to: to)
}

func makeDirectory(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
}
