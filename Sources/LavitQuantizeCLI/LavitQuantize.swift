import ArgumentParser

/// `lavit-quantize`: float checkpoint in, int8 model file out. The subcommands that exist today
/// are listed here; the executable only calls `main()`.
public struct LavitQuantize: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lavit-quantize",
        abstract: "Turn a float LaViT checkpoint into an int8 lavit model, and look inside either.",
        subcommands: [Quantize.self, Inspect.self, Verify.self, Classify.self],
        defaultSubcommand: Quantize.self)

    public init() {}
}
