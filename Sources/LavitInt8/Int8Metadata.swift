import LavitModel
import LavitModelFile

/// How a uint8 RGB camera frame becomes the model's input (QUANT.md "Model-file contents").
public struct Int8Preprocess: Sendable, Equatable, Decodable {
    /// 1 (luma) or 3 (RGB); equal to the config's `in_chans`.
    public var channels: Int
    public var height: Int
    public var width: Int
    /// How the frame is cropped to the model's aspect ratio before resizing ("center").
    public var crop: String

    public init(channels: Int, height: Int, width: Int, crop: String) {
        self.channels = channels
        self.height = height
        self.width = width
        self.crop = crop
    }
}

/// The metadata keys the engine reads. `scales` is for reports only and is not decoded here.
struct Int8Metadata: Decodable {
    var format: String
    var quantVersion: Int
    var config: Config
    var labels: [String]
    var preprocess: Int8Preprocess
    var sourceSHA256: String
    var logitScale: Double

    enum CodingKeys: String, CodingKey {
        case format
        case quantVersion = "quant_version"
        case config = "lavit_config"
        case labels
        case preprocess
        case sourceSHA256 = "source_sha256"
        case logitScale = "logit_scale"
    }

    /// Just the keys that say which text the file follows, decoded first so that a file for another
    /// format or version says so instead of failing on whichever key it lacks.
    struct Header: Decodable {
        var format: String?
        var quantVersion: Int?

        enum CodingKeys: String, CodingKey {
            case format
            case quantVersion = "quant_version"
        }
    }

    /// The largest usable `logit_scale`: any int32 logit times it is still a finite Float, the
    /// type the float reference and the reports compare logits in. The quantizer writes
    /// `max |float logit| / 2^20`, far below.
    static let maxLogitScale = Double(Float.greatestFiniteMagnitude) / 0x1p31

    static let format = "lavit-int8"
    static let quantVersion = 2

    /// Decodes and checks the metadata of `file`: format and version first, then the config and
    /// the keys that must agree with it.
    static func read(_ file: ModelFile) throws(Int8EngineError) -> Int8Metadata {
        func fail(_ reason: Int8EngineError.Reason) -> Int8EngineError {
            Int8EngineError(source: file.source, reason: reason)
        }
        let header: Header
        let metadata: Int8Metadata
        do throws(ModelFileError) {
            header = try file.decodeMetadata(Header.self)
        } catch { throw fail(.metadata(detail: "\(error.reason)")) }
        guard let format = header.format else { throw fail(.metadata(detail: "no key 'format'")) }
        guard format == Self.format else { throw fail(.format(found: format)) }
        guard let version = header.quantVersion else { throw fail(.metadata(detail: "no key 'quant_version'")) }
        guard version == Self.quantVersion else { throw fail(.quantVersion(found: version)) }
        do throws(ModelFileError) {
            metadata = try file.decodeMetadata(Int8Metadata.self)
        } catch { throw fail(.metadata(detail: "\(error.reason)")) }

        let config = metadata.config
        do throws(ConfigError) { try config.validate() } catch { throw fail(.config(error)) }
        guard metadata.labels.count == config.numClasses else {
            throw fail(.labels(count: metadata.labels.count, numClasses: config.numClasses))
        }
        let p = metadata.preprocess
        for (field, value, expected) in [
            ("channels", p.channels, config.inChans), ("height", p.height, config.imageSize[0]),
            ("width", p.width, config.imageSize[1]),
        ] where value != expected {
            throw fail(.preprocess(field: field, value: value, expected: expected))
        }
        if let problem = logitScaleProblem(metadata.logitScale) { throw fail(problem) }
        return metadata
    }

    /// Zero, negative, subnormal, NaN or huge scales make every probability and report the engine
    /// feeds meaningless (or a trap in a conversion): refused with the file, not met later.
    static func logitScaleProblem(_ scale: Double) -> Int8EngineError.Reason? {
        scale.isNormal && scale > 0 && scale <= maxLogitScale ? nil : .logitScale(scale)
    }
}
