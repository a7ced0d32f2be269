import LavitModel
import Testing

@Suite struct ParameterSchemaTests {
    let schema = try! ParameterSchema(config: smallConfig)

    /// Spot checks against MODEL.md's key table for `smallConfig` (grids 8x8, 4x4, 2x2; keys 2x2).
    @Test(arguments: [
        ("stages.0.embed.proj.weight", [16, 3, 4, 4]),
        ("stages.1.embed.proj.weight", [32, 16, 2, 2]),
        ("stages.2.embed.norm.bias", [48]),
        ("stages.0.pos_embed", [1, 64, 16]),
        ("stages.1.attn_residual.dw.weight", [1, 1, 2, 2]),
        ("stages.2.attn_residual.pw.weight", [3, 2, 1, 1]),
        ("stages.2.attn_residual.gamma", [3]),
        ("stages.0.blocks.0.attn.q.weight", [16, 16]),
        ("stages.0.blocks.0.attn.kv.weight", [32, 16]),
        ("stages.0.blocks.0.attn.sr.weight", [16, 16, 4, 4]),
        ("stages.0.blocks.1.attn.v.bias", [16]),
        ("stages.0.blocks.1.attn.theta.weight", [4, 4]),
        ("stages.0.blocks.1.attn.theta.bias", [4]),
        ("stages.0.blocks.1.attn.psi.weight", [64, 64]),
        ("stages.1.blocks.2.attn.psi.weight", [16, 16]),
        ("stages.1.blocks.1.attn.norm.weight", [32]),
        ("stages.2.blocks.0.mlp.fc1.weight", [48, 48]),
        ("stages.1.blocks.0.mlp.fc2.weight", [32, 64]),
        ("norm.weight", [48]),
        ("head.weight", [10, 48]),
        ("head.bias", [10]),
    ])
    func keyHasModelMDShape(name: String, shape: [Int]) {
        #expect(schema.shape(of: name) == shape)
    }

    @Test(arguments: [
        "stages.0.attn_residual.gamma",  // no AR into stage 0
        "stages.0.blocks.1.attn.q.weight",  // LA has no q
        "stages.0.blocks.0.attn.theta.weight",  // VA has no theta
        "stages.0.blocks.1.attn.psi.bias",  // Psi has no bias
        "stages.2.blocks.0.attn.sr.weight",  // r = 1 has no reduction
        "stages.2.blocks.0.attn.norm.weight",
        "stages.1.blocks.3.norm1.weight",  // depth 3
    ])
    func keyIsAbsent(name: String) {
        #expect(schema.shape(of: name) == nil)
    }

    @Test func namesAreUniqueAndInTableOrder() {
        let names = schema.entries.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Array(names.prefix(5)) == [
            "stages.0.embed.proj.weight", "stages.0.embed.proj.bias", "stages.0.embed.norm.weight",
            "stages.0.embed.norm.bias", "stages.0.pos_embed",
        ])
        #expect(Array(names.suffix(4)) == ["norm.weight", "norm.bias", "head.weight", "head.bias"])
    }

    @Test func noAttentionResidualWithoutTheFlag() throws {
        let plain = try ParameterSchema(config: small { $0.attentionResidual = false })
        #expect(!plain.entries.contains { $0.name.contains("attn_residual") })
    }

    /// The cost table's parameter counts are written independently of the schema; they must agree
    /// layer by layer.
    @Test func costRowsAgreeWithSchema() throws {
        for config in [smallConfig, small { $0.attentionResidual = false }] + Config.variantNames.compactMap(Config.variant(named:)) {
            let schema = try ParameterSchema(config: config)
            let cost = try Cost(config: config)
            for row in cost.rows {
                let fromSchema = schema.entries
                    .filter { $0.name.hasPrefix(row.module + ".") || $0.name == row.module }
                    .reduce(0) { $0 + $1.count }
                #expect(row.params == fromSchema, "\(config.name) \(row.name)")
            }
            #expect(cost.params == schema.elementCount)
        }
    }

    @Test func costRowsNameTheLayers() throws {
        let names = try Cost(config: smallConfig).rows.map(\.name)
        #expect(names.contains("stages.0.blocks.1 (LA)"))
        #expect(names.contains("stages.1.blocks.1 (VA)"))
        #expect(names.contains("stages.2.attn_residual"))
        #expect(names.last == "head")
    }

    /// MACs of one VA block at hand-computable sizes (stage 2 of smallConfig: N = 4, Nk = 4,
    /// C = 48, hidden 48, no reduction): q, kv, q k^T, A v, proj, fc1, fc2.
    @Test func vaBlockMACsByHand() throws {
        let row = try #require(try Cost(config: smallConfig).rows.first { $0.module == "stages.2.blocks.0" })
        let (n, nk, c, hid) = (4, 4, 48, 48)
        #expect(row.macs == n * c * c + nk * 2 * c * c + 2 * n * nk * c + n * c * c + 2 * n * c * hid)
    }

    /// An LA block with reduction (stage 0, block 1: N = 64, Nk = 4, C = 16, h = 1, r = 4, hidden 32).
    @Test func laBlockMACsByHand() throws {
        let row = try #require(try Cost(config: smallConfig).rows.first { $0.module == "stages.0.blocks.1" })
        let (n, nk, c, h, r, hid) = (64, 4, 16, 1, 4, 32)
        let sr = nk * c * c * r * r
        let mixing = nk * c * c + h * n * nk * nk + h * nk * n * n + n * nk * c
        #expect(row.macs == sr + mixing + n * c * c + 2 * n * c * hid)
    }
}
