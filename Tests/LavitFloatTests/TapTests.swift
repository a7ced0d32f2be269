import LavitFloat
import LavitModel
import Testing

/// What the calibration observer sees, on the `multi` golden model (grids 8x8, 4x4, 2x2; keys 2x2;
/// AR into stages 1 and 2; LA blocks s0b1, s1b1, s1b2, s2b1).
@Suite struct TapTests {
    let weights: Weights
    let golden: [String: Tensor]
    let output: FloatOutput
    let taps: [(point: TapPoint, tensor: Tensor)]

    init() throws {
        weights = try Golden.weights("multi")
        golden = try Golden.vectors("multi")
        var taps: [(TapPoint, Tensor)] = []
        output = try FloatEngine(weights: weights).forward(input: try #require(golden["input"])) { taps.append(($0, $1)) }
        self.taps = taps
    }

    func tap(_ name: String) -> Tensor? { taps.first { $0.point.description == name }?.tensor }

    @Test func everyPointFiresOnceAndEndsWithTheLogits() {
        let names = taps.map(\.point.description)
        #expect(Set(names).count == names.count)
        #expect(names.first == "stages.0.embed.proj")
        #expect(Array(names.suffix(3)) == ["norm", "pool", "head"])
        #expect(taps.last?.tensor == output.logits)
    }

    @Test func sitesFollowTheArchitecture() {
        for g in weights.stages.map(\.geometry) {
            #expect((tap("stages.\(g.index).attn_residual.dw") != nil) == g.hasAttentionResidual)
            #expect((tap("stages.\(g.index).attn_residual.pw") != nil) == g.hasAttentionResidual)
            #expect((tap("stages.\(g.index).blocks.0.attn.ar_add") != nil) == g.hasAttentionResidual)
            for i in 0..<g.depth {
                let block = "stages.\(g.index).blocks.\(i)"
                #expect((tap("\(block).attn.qk") != nil) == g.isVA(block: i), "\(block)")
                #expect((tap("\(block).attn.q") != nil) == g.isVA(block: i), "\(block)")
                #expect((tap("\(block).attn.theta") != nil) == !g.isVA(block: i), "\(block)")
                #expect((tap("\(block).attn.psi") != nil) == !g.isVA(block: i), "\(block)")
                #expect((tap("\(block).attn.sr") != nil) == (g.srRatio > 1), "\(block)")
                #expect(tap("\(block).attn.scores")?.shape == [g.heads, g.tokens, g.keys], "\(block)")
                #expect(tap("\(block).attn.v")?.shape == [g.keys, g.dim], "\(block)")
                #expect(tap("\(block).mlp.gelu")?.shape == [g.tokens, g.hidden], "\(block)")
            }
            #expect(tap("stages.\(g.index).blocks.\(g.depth - 1).add2") == output.stages[g.index])
        }
    }

    /// The stored scores are what PyTorch stores, AR and LA paths included.
    @Test func scoresMatchPyTorch() throws {
        for g in weights.stages.map(\.geometry) {
            for i in 0..<g.depth {
                let swift = try #require(tap("stages.\(g.index).blocks.\(i).attn.scores"))
                let torch = try #require(golden["scores.\(g.index).\(i)"])
                #expect(swift.count == torch.count)
                let (error, range) = maxError(swift, torch)
                #expect(error <= GoldenTests.tolerance * range, "scores \(g.index).\(i): max error \(error), range \(range)")
            }
        }
    }

    @Test func scoresAreTheLastOfQKARAddAndPsi() throws {
        let qk = try #require(tap("stages.1.blocks.0.attn.qk"))
        let residual = try #require(tap("stages.1.attn_residual.pw"))
        let scores = try #require(tap("stages.1.blocks.0.attn.scores"))
        #expect(scores.data == zip(qk.data, residual.data).map { $0 + $1 })
        #expect(scores == tap("stages.1.blocks.0.attn.ar_add"))
        #expect(tap("stages.1.attn_residual.dw")?.shape == [1, 16, 4])
        #expect(residual.shape == [2, 16, 4])
        #expect(tap("stages.0.blocks.0.attn.scores") == tap("stages.0.blocks.0.attn.qk"))
        #expect(tap("stages.1.blocks.2.attn.scores") == tap("stages.1.blocks.2.attn.psi"))
    }

    @Test func probabilityRowsSumToOne() throws {
        for (point, p) in taps where point.site == .probabilities {
            let keys = p.shape[2]
            for row in 0..<(p.count / keys) {
                let sum = p.data[(row * keys)..<((row + 1) * keys)].reduce(0, +)
                #expect(abs(sum - 1) < 1e-5, "\(point) row \(row)")
            }
        }
    }
}
