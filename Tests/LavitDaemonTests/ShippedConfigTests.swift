import Glibc
import LavitDaemon
import LavitSystem
import LavitTestSupport
import Testing

/// The documented configuration the project ships parses, documents every key, and its
/// commented values are the defaults.
@Test func theShippedConfigurationDocumentsEveryKeyWithItsDefault() throws {
    let path = RepositoryPaths.root + "/systemd/config/lavitd.conf"
    let text = String(decoding: try System.live.readFile(path, limit: 1 << 16), as: UTF8.self)
    var config = DaemonConfig()
    try config.apply(file: text, name: path)
    #expect(config == DaemonConfig(), "everything in the shipped file is commented out")

    let uncommented = text.split(separator: "\n")
        .filter { line in
            let key = line.dropFirst().prefix { $0 != " " }
            return line.hasPrefix("#") && !key.isEmpty && key.allSatisfy { $0.isLetter || $0 == "_" } && line.contains(" = ")
        }
        .map { String($0.dropFirst()) }.joined(separator: "\n")
    var defaults = DaemonConfig()
    try defaults.apply(file: uncommented, name: path)
    #expect(defaults == DaemonConfig(), "the commented values are the defaults")
    for line in DaemonCommand.usage.split(separator: "\n") where line.hasPrefix("  --") {
        let flag = line.dropFirst(4).prefix { $0 != " " }
        if flag == "config" || flag == "config-if-present" || flag == "check" { continue }
        let key = String(flag.map { $0 == "-" ? "_" : $0 })
        #expect(text.contains("#\(key) = "), "systemd/config/lavitd.conf does not document \(key)")
    }
}
