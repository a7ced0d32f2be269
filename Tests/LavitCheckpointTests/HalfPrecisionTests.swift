import LavitCheckpoint
import Testing

@Suite struct HalfPrecisionTests {
    @Test(arguments: [
        (UInt16(0x0000), Float(0)),
        (0x3C00, 1),
        (0xC000, -2),
        (0x3555, 1365 * 0x1p-12),  // (1 + 341/1024) / 4
        (0x7BFF, 65504),  // largest finite
        (0x0400, 0x1p-14),  // smallest normal
        (0x0001, 0x1p-24),  // smallest subnormal
        (0x03FF, 1023 * 0x1p-24),  // largest subnormal
        (0x8001, -0x1p-24),
        (0x0200, 0x1p-15),
        (0x7C00, .infinity),
        (0xFC00, -.infinity),
    ])
    func float16KnownValues(bits: UInt16, expected: Float) {
        #expect(Float(float16Bits: bits) == expected)
    }

    @Test func float16SignedZeroAndNaN() {
        #expect(Float(float16Bits: 0x8000).bitPattern == (-Float(0)).bitPattern)
        let quiet = Float(float16Bits: 0x7E00)
        #expect(quiet.isNaN && !quiet.isSignalingNaN)
        let signaling = Float(float16Bits: 0x7C01)
        #expect(signaling.isNaN && signaling.isSignalingNaN)
        #expect(Float(float16Bits: 0xFE00).isNaN && Float(float16Bits: 0xFE00).sign == .minus)
    }

    /// Every binary16 pattern against the platform's own conversion, where Swift has Float16.
    @Test func float16AllPatternsMatchPlatform() {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            for bits in 0...UInt16.max {
                let mine = Float(float16Bits: bits)
                let platform = Float(Float16(bitPattern: bits))
                if platform.isNaN {
                    #expect(mine.isNaN, "0x\(String(bits, radix: 16))")
                } else {
                    #expect(mine.bitPattern == platform.bitPattern, "0x\(String(bits, radix: 16))")
                }
            }
        #endif
    }

    @Test(arguments: [
        (UInt16(0x3F80), Float(1)),
        (0xC000, -2),
        (0x3E20, 0.156_25),
        (0x4049, 3.140_625),
        (0x7F7F, 0x1.FEp127),  // largest finite
        (0x0080, 0x1p-126),  // smallest normal
        (0x0001, 0x1p-133),  // smallest subnormal
        (0x8001, -0x1p-133),
        (0x7F80, .infinity),
        (0xFF80, -.infinity),
    ])
    func bfloat16KnownValues(bits: UInt16, expected: Float) {
        #expect(Float(bfloat16Bits: bits) == expected)
    }

    @Test func bfloat16NaNAndSignedZero() {
        #expect(Float(bfloat16Bits: 0x7FC0).isNaN)
        #expect(Float(bfloat16Bits: 0xFFC1).isNaN)
        #expect(Float(bfloat16Bits: 0x8000).bitPattern == (-Float(0)).bitPattern)
    }
}
