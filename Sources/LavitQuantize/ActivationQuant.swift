/// `Q8(s, z)`: int8 `q` stands for `s * (q - z)`. Symmetric activations have `z = 0`.
public struct ActivationQuant: Sendable, Equatable {
    public var scale: Double
    public var zeroPoint: Int

    public init(scale: Double, zeroPoint: Int) {
        precondition(scale > 0 && scale.isFinite, "activation scale \(scale)")
        precondition((-128...127).contains(zeroPoint), "zero point \(zeroPoint)")
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// Clip `[-c, c]` on 127 steps each side (the kernels saturate at -128, one step more).
    public static func symmetric(clip c: Double) -> ActivationQuant {
        ActivationQuant(scale: c / 127, zeroPoint: 0)
    }

    /// `[lo, hi]` widened to contain 0, so 0 is exact and the zero point never needs clamping
    /// beyond rounding.
    public static func asymmetric(lo: Double, hi: Double) -> ActivationQuant {
        let (lo, hi) = (min(lo, 0), max(hi, 0))
        let s = (hi - lo) / 255
        let z = Int(max(-128, min(127, roundEven(-128 - lo / s))))
        return ActivationQuant(scale: s, zeroPoint: z)
    }

    public func quantize(_ x: Double) -> Int8 { sat8(x / scale + Double(zeroPoint)) }
    public func dequantize(_ q: Int) -> Double { scale * Double(q - zeroPoint) }
}
