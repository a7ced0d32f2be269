extension Float {
    /// Exact widening of an IEEE binary16 bit pattern, written out rather than going through
    /// `Float16`, which Swift does not offer on every platform lavit builds for.
    public init(float16Bits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0 where mantissa == 0:
            self = Float(bitPattern: sign)
        case 0:
            // Subnormal: normalise by shifting the leading one into the implicit-bit position.
            var biased: UInt32 = 127 - 15 + 1
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                biased -= 1
            }
            self = Float(bitPattern: sign | biased << 23 | (mantissa & 0x3FF) << 13)
        case 0x1F:
            // Inf and NaN keep their payload, so a quiet NaN stays quiet.
            self = Float(bitPattern: sign | 0xFF << 23 | mantissa << 13)
        default:
            self = Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
        }
    }

    /// bfloat16 is the top half of a binary32, so widening is a shift.
    public init(bfloat16Bits bits: UInt16) {
        self = Float(bitPattern: UInt32(bits) << 16)
    }
}
