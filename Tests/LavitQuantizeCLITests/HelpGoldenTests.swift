import ArgumentParser
import FoundationEssentials
import Testing

@testable import LavitQuantizeCLI

private let goldenDir = fixtures + "help/"

/// Catches accidental interface changes. After an intended change, regenerate with
/// `LAVIT_UPDATE_GOLDEN=1 swift test --filter HelpGolden` and review the diff.
@Test(arguments: ["lavit-quantize", "quantize", "inspect", "verify", "classify"])
func helpMatchesGolden(command: String) throws {
    let subcommands: [String: any ParsableCommand.Type] = [
        "quantize": Quantize.self, "inspect": Inspect.self, "verify": Verify.self, "classify": Classify.self,
    ]
    let help = subcommands[command].map { LavitQuantize.helpMessage(for: $0, columns: 100) }
        ?? LavitQuantize.helpMessage(columns: 100)
    let path = goldenDir + command + ".txt"
    if ProcessInfo.processInfo.environment["LAVIT_UPDATE_GOLDEN"] == "1" {
        try Data(help.utf8).write(to: URL(filePath: path))
    }
    let golden = String(decoding: try Data(contentsOf: URL(filePath: path)), as: UTF8.self)
    #expect(help == golden)
}
