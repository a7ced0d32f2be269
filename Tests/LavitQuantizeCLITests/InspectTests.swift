import LavitModel
import Testing

@testable import LavitQuantizeCLI


private func inspect(_ args: [String]) throws -> String {
    try Inspect.parse(args).report()
}

/// The signed percentages of "difference from the paper: params +1.8%, MACs -5.9%".
private func paperDifferences(_ report: String) throws -> (params: Double, macs: Double) {
    let line = try #require(report.split(separator: "\n").first { $0.hasPrefix("difference from the paper") })
    let numbers = line.split(whereSeparator: { " ,%".contains($0) }).compactMap { Double($0) }
    try #require(numbers.count == 2, "cannot read \(line)")
    return (numbers[0], numbers[1])
}

@Test(arguments: Config.variantNames)
func variantCostIsWithinTenPercentOfThePaper(name: String) throws {
    let report = try inspect(["--variant", name])
    let (params, macs) = try paperDifferences(report)
    #expect(abs(params) <= 10, "\(name) params differ by \(params)%")
    #expect(abs(macs) <= 10, "\(name) MACs differ by \(macs)%")
    // The printed total is the one the percentages were computed from.
    let cost = try Cost(config: Config.variant(named: name)!)
    #expect(report.contains("total") && report.contains(Format.count(cost.params)))
}

@Test func inspectCheckpointReportsConfigLayersAndTensors() throws {
    let report = try inspect([fixtures + "golden/multi/model.pth", "--tensors"])
    #expect(report.contains("config      multi (from checkpoint metadata)"))
    #expect(report.contains("stages.1.attn_residual"))
    #expect(report.contains("stages.0.blocks.1.attn.psi.weight"))
    #expect(report.contains("weights     all 151 tensors match the config"))
}

@Test func checkpointWithoutConfigNeedsOne() throws {
    let wrapped = fixtures + "golden/multi/model.wrapped.pth"
    #expect {
        try inspect([wrapped])
    } throws: { error in
        "\(error)".contains("records no config") && "\(error)".contains("--config")
    }
    let report = try inspect([wrapped, "--config", fixtures + "golden/multi/config.json"])
    #expect(report.contains("weights     all 151 tensors match the config"))
}

@Test func weightsThatDoNotFitTheConfigAreNamed() throws {
    #expect {
        try inspect([fixtures + "golden/multi/model.safetensors", "--config", fixtures + "golden/rect/config.json"])
    } throws: { error in
        let text = "\(error)"
        return error is InspectError && text.contains("stages.0.pos_embed") && !text.contains("\n")
    }
}

@Test(arguments: [
    ([String](), "give a checkpoint, --variant or --config"),
    (["--variant", "lavit-x"], "unknown variant 'lavit-x' (known: lavit-t"),
    (["--variant", "lavit-t", "--config", "a.json"], "give --variant or --config, not both"),
])
func badArgumentsAreRejectedWithUsage(arguments: [String], names: String) {
    do {
        _ = try Inspect.parse(arguments)
        Issue.record("\(arguments) were accepted")
    } catch {
        let message = Inspect.fullMessage(for: error)
        #expect(message.contains(names), "\(message)")
        #expect(message.contains("Usage: inspect"), "\(message)")
        #expect(Inspect.exitCode(for: error) == .validationFailure)
    }
}

@Test func badConfigFileIsOneLine() throws {
    #expect {
        try inspect(["--config", fixtures + "golden/multi/model.pth"])
    } throws: { error in
        "\(error)".contains("model.pth: config is not valid JSON") && !"\(error)".contains("\n")
    }
}

@Test func unknownConfigKeyIsNamed() throws {
    let path = "/tmp/lavit-unknown-key-\(UInt32.random(in: 0...UInt32.max)).json"
    let json = #"{"image_size":[32,32],"num_classes":10,"patch_size":4,"embed_dims":[8],"depths":[1],"#
        + #""num_heads":[1],"num_va":[1],"sr_ratios":[1],"mlp_ratio":[2]}"#
    try writeText(json, to: path)
    #expect {
        try inspect(["--config", path])
    } throws: { error in
        "\(error)".contains("unknown config key 'mlp_ratio'")
    }
}

@Test func inspectModelFileNamesVersionsConfigAndLabels() throws {
    let report = try inspect([fixtures + "../../Tools/models/lavit-fashion.lvt", "--tensors"])
    #expect(report.contains("(lavit int8 model file v1, QUANT.md quant_version 2)"))
    #expect(report.contains("lavit-fashion (from model metadata)"))
    #expect(report.contains("labels      10: T-shirt/top, Trouser,"))
    #expect(report.contains("stages.1.blocks.0.attn.softmax.exp"))
}
