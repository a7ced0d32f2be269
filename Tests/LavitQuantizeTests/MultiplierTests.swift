@testable import LavitQuantize
import Testing

/// QUANT.md's `(M, n)` rule and the shared shift of add2.
@Suite struct MultiplierTests {
    @Test(arguments: [-1, -7, -20, -32, 0, 5, 29])
    func powersOfTwoAreExact(exponent: Int) throws {
        let m = try Multiplier(pow2(exponent), layer: "t")
        #expect(m.m == 1 << 30)
        #expect(m.shift == 30 - exponent)
        #expect(m.value == pow2(exponent))
    }

    /// `f * 2^31` lands exactly on `2^30 + 0.5` and `2^30 + 1.5`: half to even goes down, then up.
    @Test func mantissaTiesRoundToEven() throws {
        let down = try Multiplier((0x1p31 + 1) / 0x1p32, layer: "t")
        #expect(down.m == 1 << 30 && down.shift == 31)
        let up = try Multiplier((0x1p31 + 3) / 0x1p32, layer: "t")
        #expect(up.m == (1 << 30) + 2 && up.shift == 31)
    }

    /// Just below a power of two the mantissa rounds up to 2^31 and must become 2^30, one shift less.
    @Test func mantissaRoundingUpToTwoToThe31Renormalises() throws {
        let r = 0.25 * (1 - 0x1p-40)
        let m = try Multiplier(r, layer: "t")
        #expect(m.m == 1 << 30)
        #expect(m.shift == 32)
        #expect(m.value == 0.25)
    }

    @Test func arbitraryFactorIsWithinHalfAnLSBOfTheMantissa() throws {
        for r in [0.000123, 0.7071067811865476, 3.3, 1234.5] {
            let m = try Multiplier(r, layer: "t")
            #expect((1 << 30)..<(1 << 31) ~= m.m)
            #expect(abs(m.value - r) <= pow2(-m.shift) / 2 * 1.0000001, "\(r)")
        }
    }

    @Test(arguments: [0x1p30, 0x1p31, 1e12, 0x1p-33, 1e-30, 0, -0.5, .nan, .infinity])
    func outOfRangeFactorsNameTheLayer(r: Double) {
        let error = #expect(throws: QuantizeError.self) { try Multiplier(r, layer: "stages.0.blocks.0.attn.qk") }
        #expect(error?.description.hasPrefix("stages.0.blocks.0.attn.qk: rescale factor") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func edgesOfTheShiftRange() throws {
        #expect(try Multiplier(0x1p30 * 0.99, layer: "t").shift == 1)
        #expect(try Multiplier(0x1p-32 * 1.01, layer: "t").shift == 62)
    }

    @Test func sharedShiftIsTheLargestThatKeepsTheBiggestFactorBelow2To31() throws {
        let shared = try SharedShift([0.75, 0.001], layer: "add")
        // 0.75 * 2^31 < 2^31 <= 0.75 * 2^32.
        #expect(shared.shift == 31)
        #expect(shared.ms == [Int64(0.75 * 0x1p31), Int64((0.001 * 0x1p31).rounded(.toNearestOrEven))])

        let one = try SharedShift([1, 0.5], layer: "add")
        #expect(one.shift == 30 && one.ms == [1 << 30, 1 << 29])

        // A factor that rounds up to 2^31 at shift n forces n - 1.
        let edge = try SharedShift([1 - 0x1p-33, 0.3], layer: "add")
        #expect(edge.shift == 30)
        #expect(edge.ms[0] == 1 << 30)
    }

    @Test func sharedShiftCapsAt62AndRefusesHugeFactors() throws {
        #expect(try SharedShift([1e-12, 1e-13], layer: "add").shift == 62)
        #expect(throws: QuantizeError.self) { try SharedShift([0x1p31, 1], layer: "add") }
        #expect(throws: QuantizeError.self) { try SharedShift([1, 0], layer: "add") }
    }
}
