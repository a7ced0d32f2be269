import LavitModel

/// What a format reader hands back before names are normalised and the config is decoded.
struct RawCheckpoint {
    struct Entry {
        var name: String
        var tensor: Tensor
        var storedType: ElementType
    }

    enum ConfigSource {
        case absent
        case json(String)
        /// The config is there but cannot even be turned into JSON text; the string says why.
        case invalid(String)
    }

    var entries: [Entry]
    var config: ConfigSource

    /// Where both formats keep the config: a safetensors metadata key, a top-level .pth dict key.
    static let configKey = "lavit_config"
}
