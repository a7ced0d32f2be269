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
