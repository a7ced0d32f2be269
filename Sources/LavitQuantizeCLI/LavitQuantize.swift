import ArgumentParser
import LavitModelFile
import LavitText

/// `lavit-quantize`: float checkpoint in, int8 model file out. The subcommands that exist today
/// are listed here; the executable only calls `main()`.
public struct LavitQuantize: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lavit-quantize",
        abstract: "Turn a float LaViT checkpoint into an int8 lavit model, and look inside either.",
        subcommands: [Quantize.self, Inspect.self, Verify.self, Classify.self],
        defaultSubcommand: Quantize.self)

    public init() {}

    /// ArgumentParser's `main()`, except that a failure from a command's `run()` is printed as
    /// one line with its control characters escaped: those errors quote paths, tensor names and
    /// labels from files, which must not forge lines or drive the terminal. Usage errors and exit
    /// codes keep ArgumentParser's own output.
    public static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ExitCode {
            exit(withError: error)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch let error as ValidationError {
            exit(withError: error)
        } catch {
            writeStderr("Error: \(errorLine(error))\n")
            exit(withError: ExitCode.failure)
        }
    }

    /// The one line `main()` prints for a failed command.
    static func errorLine(_ error: any Error) -> String {
        escapedControls("\(error)")
    }
}
