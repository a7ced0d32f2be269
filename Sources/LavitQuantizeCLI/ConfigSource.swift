import FoundationEssentials
import LavitModel
import LavitModelFile
import LavitSystem
import LavitText

/// Where a checkpoint's architecture comes from. An explicit `--config`/`--variant` wins over the
/// checkpoint's own metadata, so a user can load weights saved by a training script that recorded
/// none.
enum ConfigSource: Equatable {
    case metadata
    case file(String)
    case variant(String)

    var description: String {
        switch self {
        case .metadata: "from checkpoint metadata"
        case .file(let path): "from \(path)"
        case .variant(let name): "variant \(name)"
        }
    }
}

struct ConfigResolutionError: Error, CustomStringConvertible {
    let description: String
}

enum ConfigResolver {
    static func resolve(
        variant: String?, configFile: String?, metadata: Config?, metadataError: String?
    ) throws -> (Config, ConfigSource) {
        if let variant {
            guard let config = Config.variant(named: variant) else {
                throw ConfigResolutionError(
                    description: "unknown variant '\(variant)' (known: \(Config.variantNames.joined(separator: ", ")))")
            }
            return (config, .variant(variant))
        }
        if let configFile {
            return (try load(configFile), .file(configFile))
        }
        if let metadata {
            return (metadata, .metadata)
        }
        if let metadataError {
            throw ConfigResolutionError(
                description: "the checkpoint's config does not decode (\(metadataError)); pass --config FILE or --variant NAME")
        }
        throw ConfigResolutionError(
            description: "the checkpoint records no config; pass --config FILE or --variant NAME")
    }

    /// Validates `config`, naming where it came from in the error: the config file, or the
    /// checkpoint whose metadata recorded it.
    static func validate(_ config: Config, _ source: ConfigSource, checkpoint: String?) throws {
        do throws(ConfigError) {
            try config.validate()
        } catch {
            let origin =
                switch source {
                case .metadata: "\(checkpoint ?? "checkpoint"): lavit_config"
                case .file(let path): "\(path): config"
                case .variant(let name): "variant \(name)"
                }
            throw ConfigResolutionError(description: "\(origin): \(error)")
        }
    }

    /// Config files are a few hundred bytes; a megabyte is room for any and refuses the rest.
    static let configByteLimit = 1 << 20

    static func load(_ path: String) throws -> Config {
        let bytes: [UInt8]
        do throws(FileReadError) {
            bytes = try System.live.readFile(path, limit: configByteLimit)
        } catch {
            throw ConfigResolutionError(description: "\(path): cannot read the config file: \(error)")
        }
        do {
            return try JSONDecoder().decode(Config.self, from: Data(bytes))
        } catch {
            // JSONDecoder says only "not valid JSON"; the strict checker says where.
            let syntax = bytes.withUnsafeBytes { jsonObjectProblem($0) }
            let why = syntax.map { "is not valid JSON: \($0)" } ?? decodingErrorLine(error)
            throw ConfigResolutionError(description: "\(path): config \(escapedControls(why))")
        }
    }
}

