import Glibc

/// The 256-entry tables of QUANT.md: exact with respect to float, since their inputs are int8.
enum Tables {
    /// softmax: `exp[t] = round(2^15 * exp(-t * s_A))` for a score difference of `t` steps.
    static func exp(scoreScale: Double) -> [Int32] {
        (0..<256).map { Int32(roundEven(0x1p15 * Glibc.exp(-Double($0) * scoreScale))) }
    }

    /// gelu: `t[x + 128] = sat8(round(GELU(s_in (x - z_in)) / s_out) + z_out)`, exact erf GELU.
    static func gelu(input: ActivationQuant, output: ActivationQuant) -> [Int8] {
        (-128...127).map { x in
            let v = input.dequantize(x)
            let y = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            return sat8(roundEven(y / output.scale) + Double(output.zeroPoint))
        }
    }
}
