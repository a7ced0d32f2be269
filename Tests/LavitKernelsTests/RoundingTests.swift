import LavitKernels
import Testing
import LavitTestSupport

@Suite struct RoundingTests {
    /// The ties QUANT.md lists, and the non-ties around them.
    @Test func roundingShiftTies() {
        #expect(roundingShift(5, 1) == 3)
        #expect(roundingShift(-5, 1) == -2)
        #expect(roundingShift(-6, 2) == -1)
        #expect(roundingShift(6, 2) == 2)
        #expect(roundingShift(4, 1) == 2)
        #expect(roundingShift(5, 2) == 1)    // 1.25
        #expect(roundingShift(7, 2) == 2)    // 1.75
        #expect(roundingShift(-7, 2) == -2)  // -1.75
        #expect(roundingShift(-5, 2) == -1)  // -1.25
        #expect(roundingShift(-1, 1) == 0)   // -0.5 rounds up
        #expect(roundingShift(1, 1) == 1)    // 0.5 rounds up
    }

    /// Round half up of `x / 2^n`, checked against exact rational arithmetic: `r` is right when
    /// `r - 1/2 <= x / 2^n < r + 1/2`, i.e. `(2r - 1) 2^n <= 2x < (2r + 1) 2^n`.
    @Test func roundingShiftMatchesDefinition() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let n = Int64(rng.next() % 40) + 1
            let x = Int64(bitPattern: rng.next()) >> 22
            let r = roundingShift(x, n)
            let twoX = 2 * x, unit = Int64(1) << n
            #expect((2 * r - 1) * unit <= twoX && twoX < (2 * r + 1) * unit, "RS(\(x), \(n)) = \(r)")
        }
        #expect(roundingShift(Int64(1) << 61, 62) == 1)
        #expect(roundingShift(-(Int64(1) << 61), 62) == 0)
    }

    @Test func saturation() {
        #expect(sat8(127) == 127 && sat8(128) == 127 && sat8(-128) == -128 && sat8(-129) == -128 && sat8(5) == 5)
        #expect(satU8(-1) == 0 && satU8(0) == 0 && satU8(255) == 255 && satU8(256) == 255)
        #expect(sat32(Int64(Int32.max) + 1) == .max && sat32(Int64(Int32.min) - 1) == .min && sat32(-7) == -7)
    }

    /// Every value below 2^20 against the definition `r^2 <= x < (r + 1)^2`.
    @Test func isqrtExhaustive() {
        var r: Int64 = 0
        for x in Int64(0)..<(1 << 20) {
            if (r + 1) * (r + 1) <= x { r += 1 }
            #expect(isqrt(x) == r)
            if isqrt(x) != r { return }
        }
    }

    @Test func isqrtRandomAndEdges() {
        func check(_ x: Int64) {
            let r = isqrt(x)
            let lower = r.multipliedFullWidth(by: r)
            let upper = (r + 1).multipliedFullWidth(by: r + 1)
            let below = lower.high < 0 || (lower.high == 0 && lower.low <= UInt64(x))
            let above = upper.high > 0 || upper.low > UInt64(x)
            #expect(below && above, "isqrt(\(x)) = \(r)")
        }
        var rng = SplitMix64(seed: 62)
        for _ in 0..<200_000 { check(Int64(rng.next() >> 2)) }
        for _ in 0..<20_000 {
            let k = Int64(rng.next() >> 33)
            for d: Int64 in [-1, 0, 1] where k * k + d >= 0 { check(k * k + d) }
        }
        for x: Int64 in [0, 1, 2, 3, 4, (1 << 62) - 1, 1 << 62, Int64.max, 4_611_686_014_132_420_609, 4_611_686_014_132_420_608] {
            check(x)
        }
        #expect(isqrt(Int64.max) == 3_037_000_499)
    }
}

