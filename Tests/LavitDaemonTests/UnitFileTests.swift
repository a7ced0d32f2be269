import Foundation
import Glibc
import LavitTestSupport
import Testing

/// The systemd units as `systemd-analyze` judges them, offline. (`Tools/check_units.sh` adds
/// `verify` on an installed tree, which needs the built binaries in place.)
@Suite(.enabled(if: access("/usr/bin/systemd-analyze", X_OK) == 0, "needs systemd-analyze (Debian's systemd package)"))
struct UnitFileTests {
    /// The repository's units, as installed for the default prefix, in a temporary folder with an
    /// instance of the template.
    static func installedUnits() throws -> String {
        let directory = NSTemporaryDirectory() + "lavitd-units-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for unit in ["lavitd.service", "lavitd.socket", "lavitd@.service", "lavitd@.socket"] {
            try FileManager.default.copyItem(atPath: RepositoryPaths.root + "/systemd/" + unit, toPath: directory + "/" + unit)
        }
        try FileManager.default.createSymbolicLink(atPath: directory + "/lavitd@video1.service", withDestinationPath: "lavitd@.service")
        return directory
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess("/usr/bin/systemd-analyze", arguments)
    }

    static func exposure(_ output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Overall exposure level") }),
              let value = line.split(separator: ":").last?.split(separator: " ").first
        else { return nil }
        return Double(value)
    }

    @Test(arguments: ["lavitd.service", "lavitd@video1.service"])
    func securityExposureIsAtMostOnePointFive(unit: String) throws {
        let directory = try Self.installedUnits()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, output) = try Self.run(["security", "--offline=true", directory + "/" + unit])
        let score = try #require(Self.exposure(output), "no score in: \(output)")
        #expect(score <= 1.5, "\(unit) scores \(score)")
        #expect(output.contains("✓ NoNewPrivileges="))
        #expect(output.contains("✓ RestrictAddressFamilies=~AF_(INET|INET6)"))
    }

    /// The check can fail: the same unit without its hardening scores far above the bar.
    @Test func anUnhardenedUnitScoresHigh() throws {
        let directory = try Self.installedUnits()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hardened = try String(contentsOfFile: directory + "/lavitd.service", encoding: .utf8)
        let soft = hardened.split(separator: "\n").filter { line in
            !["Protect", "Private", "Restrict", "SystemCall", "Capability", "NoNewPrivileges", "MemoryDeny", "Device"]
                .contains { line.hasPrefix($0) }
        }.joined(separator: "\n")
        try soft.write(toFile: directory + "/soft.service", atomically: true, encoding: .utf8)
        let score = try #require(Self.exposure(try Self.run(["security", "--offline=true", directory + "/soft.service"]).output))
        #expect(score > 5)
    }
}
