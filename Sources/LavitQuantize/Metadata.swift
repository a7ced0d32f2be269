import LavitModel

/// The model file's JSON metadata, QUANT.md "Model-file contents".
struct Metadata: Encodable {
    struct Preprocess: Encodable {
        var channels: Int
        var height: Int
        var width: Int
        var crop = "center"
    }

    var format = "lavit-int8"
    var quantVersion = 2
    var lavitConfig: Config
    var labels: [String]
    var preprocess: Preprocess
    var sourceSHA256: String
    /// `[s, z]` per activation, for reports only: the engine reads integers.
    var scales: [String: [Double]]
    var logitScale: Double

    enum CodingKeys: String, CodingKey {
        case format
        case quantVersion = "quant_version"
        case lavitConfig = "lavit_config"
        case labels
        case preprocess
        case sourceSHA256 = "source_sha256"
        case scales
        case logitScale = "logit_scale"
    }
}
