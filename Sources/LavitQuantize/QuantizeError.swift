/// Why a checkpoint could not be turned into an int8 model. Every case prints as one line naming
/// the layer, tap or image at fault.
public enum QuantizeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A real rescale factor whose `(M, n)` form needs a shift outside [1, 62].
    case multiplierOutOfRange(layer: String, value: Double)
    /// A fused bias or a worst-case accumulator does not fit int32.
    case accumulatorOverflow(layer: String, channel: Int, bound: Double)
    /// A layernorm's `E` or affine does not fit the kernel's integer widths.
    case layerNormOutOfRange(layer: String, detail: String)
    /// A weight tensor holds NaN or infinity.
    case nonFiniteWeight(layer: String)
    /// Calibration saw NaN or infinity at a tap.
    case nonFiniteActivation(tap: String)
    /// The graph needs statistics of a tap that calibration did not record.
    case missingStatistics(tap: String)
    case noCalibrationImages
    case invalidConfig(String)
    case imageSize(index: Int, got: Int, expected: Int)
    case labelCount(got: Int, expected: Int)
    case floatEngine(String)
    case modelFile(String)

    public var description: String {
        switch self {
        case .multiplierOutOfRange(let layer, let value):
            "\(layer): rescale factor \(value) needs a shift outside [1, 62]; its scales are degenerate"
        case .accumulatorOverflow(let layer, let channel, let bound):
            "\(layer): output channel \(channel) can reach \(bound) in its accumulator, beyond int32"
        case .layerNormOutOfRange(let layer, let detail):
            "\(layer): \(detail)"
        case .nonFiniteWeight(let layer):
            "\(layer): weights contain NaN or infinity"
        case .nonFiniteActivation(let tap):
            "\(tap): calibration produced NaN or infinity"
        case .missingStatistics(let tap):
            "\(tap): no calibration statistics for this tap"
        case .noCalibrationImages:
            "calibration needs at least one image"
        case .invalidConfig(let message):
            "invalid config: \(message)"
        case .imageSize(let index, let got, let expected):
            "calibration image \(index) has \(got) bytes, expected \(expected) (H x W x in_chans uint8)"
        case .labelCount(let got, let expected):
            "\(got) labels given, the model has \(expected) classes"
        case .floatEngine(let message):
            "float engine: \(message)"
        case .modelFile(let message):
            "model file: \(message)"
        }
    }
}
