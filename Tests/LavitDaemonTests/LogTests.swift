import LavitDaemon
import Synchronization
import Testing

@Suite struct LogTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func journalLinesCarryPrioritiesAndNoTimestamp() {
        let out = Lines()
        let log = Log(journal: true) { line in out.lines.withLock { $0.append(line) } }
        log.error("camera gone")
        log.warning("slow")
        log.notice("online")
        #expect(out.lines.withLock { $0 } == ["<3>camera gone\n", "<4>slow\n", "<5>online\n"])
    }

    @Test func terminalLinesCarryATimestampAndTheLevel() throws {
        let out = Lines()
        let log = Log(journal: false) { line in out.lines.withLock { $0.append(line) } }
        log.warning("slow")
        let line = try #require(out.lines.withLock { $0.first })
        #expect(line.hasSuffix(" lavitd: warning: slow\n"))
        #expect(line.count == "2026-12-01T22:13:11.957Z lavitd: warning: slow\n".count)
    }

    /// Text from files and devices cannot forge a second log line or a terminal escape.
    @Test func controlCharactersAreEscaped() {
        let out = Lines()
        let log = Log(journal: true) { line in out.lines.withLock { $0.append(line) } }
        log.warning("label \"Shirt\n<3>forged\u{1B}[31m\"")
        #expect(out.lines.withLock { $0 } == ["<4>label \"Shirt\\n<3>forged\\u{1B}[31m\"\n"])
    }
}
