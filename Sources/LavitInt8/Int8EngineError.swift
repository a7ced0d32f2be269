import LavitModel
import LavitModelFile

/// Why a model file cannot run on the int8 engine, or an input cannot run through it. Prints as
/// one line that starts with the model file and names the metadata key or tensor at fault.
public struct Int8EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file's path (or the label it was parsed under).
    public var source: String
    public var reason: Reason

    public init(source: String, reason: Reason) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }

    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// The metadata is not the JSON QUANT.md describes (a key missing or of the wrong type).
        case metadata(detail: String)
        case format(found: String)
        case quantVersion(found: Int)
        case config(ConfigError)
        case labels(count: Int, numClasses: Int)
        case preprocess(field: String, value: Int, expected: Int)
        case logitScale(Double)
        case missingTensor(String)
        case dtype(tensor: String, found: DType, expected: DType)
        case shape(tensor: String, found: [Int], expected: [Int])
        /// A stored integer outside the range QUANT.md allows (a shift, multiplier, zero point...).
        case outOfRange(tensor: String, index: Int, field: String, value: Int64, range: ClosedRange<Int64>)
        /// A layer whose worst-case accumulator times its multiplier would leave int64: no
        /// quantizer following QUANT.md writes one, and the engine must not trap on it.
        case mayOverflow(tensor: String, index: Int, bound: String)
        case tooManyKeys(tensor: String, keys: Int, limit: Int)
        /// QUANT.md's layernorm is exact only up to this many channels.
        case tooWide(tensor: String, channels: Int, limit: Int)
        case imageSize(count: Int, expected: Int, height: Int, width: Int, channels: Int)
        case outOfMemory(byteCount: Int)
        /// The kernels asked for cannot run on this CPU.
        case kernels(name: String, reason: String)
        /// The worker threads of the pool could not start.
        case threads(count: Int, detail: String)

        public var description: String {
            switch self {
            case .metadata(let detail):
                "metadata: \(detail)"
            case .format(let found):
                "metadata format is '\(found)', expected 'lavit-int8'"
            case .quantVersion(let found):
                "metadata quant_version is \(found), this engine implements \(Int8Metadata.quantVersion) (re-run lavit-quantize on the checkpoint)"
            case .config(let error):
                "metadata lavit_config: \(error)"
            case .labels(let count, let numClasses):
                "metadata labels has \(count) entries, expected num_classes = \(numClasses)"
            case .preprocess(let field, let value, let expected):
                "metadata preprocess.\(field) is \(value), expected \(expected) from lavit_config"
            case .logitScale(let value):
                "metadata logit_scale is \(value), expected a normal number in (0, \(Int8Metadata.maxLogitScale)]"
            case .missingTensor(let name):
                "tensor '\(name)' is missing"
            case .dtype(let tensor, let found, let expected):
                "tensor '\(tensor)' is \(found), expected \(expected)"
            case .shape(let tensor, let found, let expected):
                "tensor '\(tensor)' has shape \(found), expected \(expected)"
            case .outOfRange(let tensor, let index, let field, let value, let range):
                "tensor '\(tensor)' element \(index) (\(field)) is \(value), outside [\(range.lowerBound), \(range.upperBound)]"
            case .mayOverflow(let tensor, let index, let bound):
                "tensor '\(tensor)' element \(index): \(bound) exceeds int64"
            case .tooManyKeys(let tensor, let keys, let limit):
                "tensor '\(tensor)' mixes \(keys) keys per row, above pv's int32 limit \(limit)"
            case .tooWide(let tensor, let channels, let limit):
                "tensor '\(tensor)' normalises \(channels) channels, above the layernorm limit \(limit)"
            case .imageSize(let count, let expected, let height, let width, let channels):
                "image has \(count) bytes, expected \(expected) (\(height) x \(width) x \(channels), HWC uint8)"
            case .outOfMemory(let byteCount):
                "cannot allocate the \(byteCount)-byte activation arena"
            case .kernels(let name, let reason):
                "kernels '\(name)' cannot run here: \(reason)"
            case .threads(let count, let detail):
                "cannot start \(count) inference threads: \(detail)"
            }
        }
    }
}
