import LavitModel
import Testing

@Suite struct VariantTests {
    @Test func namesResolve() throws {
        #expect(Config.variantNames == ["lavit-t", "lavit-s", "lavit-b"])
        for name in Config.variantNames {
            let c = try #require(Config.variant(named: name))
            #expect(c.name == name)
            #expect(c.imageSize == [224, 224] && c.numClasses == 1000)
            try c.validate()
        }
        #expect(Config.variant(named: "lavit-x") == nil)
    }

    /// The paper's params and FLOPs (MACs) for LaViT-T/S/B; MODEL.md promises within 10%.
    @Test(arguments: [("lavit-t", 10.9, 1.6), ("lavit-s", 22.4, 3.3), ("lavit-b", 39.6, 6.1)])
    func costIsNearThePaper(name: String, millions: Double, giga: Double) throws {
        let cost = try Cost(config: try #require(Config.variant(named: name)))
        #expect(abs(Double(cost.params) / 1e6 - millions) <= 0.1 * millions)
        #expect(abs(Double(cost.macs) / 1e9 - giga) <= 0.1 * giga)
    }

    /// MODEL.md's table, and the exact parameter counts PyTorch's `numel` gives for
    /// `Tools/lavit_ref` models of these variants.
    @Test(arguments: [
        ("lavit-t", "11.09", "1.51", 11_094_310), ("lavit-s", "22.64", "3.35", 22_637_614),
        ("lavit-b", "41.37", "6.09", 41_372_410),
    ])
    func costMatchesModelMD(name: String, millions: String, giga: String, torchParams: Int) throws {
        let config = try #require(Config.variant(named: name))
        let cost = try Cost(config: config)
        #expect(rounded(Double(cost.params) / 1e6) == millions)
        #expect(rounded(Double(cost.macs) / 1e9) == giga)
        #expect(cost.params == torchParams)
        #expect(cost.params == (try ParameterSchema(config: config)).elementCount)
    }

    private func rounded(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
