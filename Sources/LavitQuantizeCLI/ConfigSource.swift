import FoundationEssentials
import LavitModel

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

    static func load(_ path: String) throws -> Config {
        let data: Data
        do {
            data = try Data(contentsOf: URL(filePath: path))
        } catch {
            throw ConfigResolutionError(description: "\(path): cannot read the config file")
        }
        do {
            return try JSONDecoder().decode(Config.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ConfigResolutionError(description: "\(path): config is missing key '\(key.stringValue)'")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw ConfigResolutionError(description: "\(path): \(context.debugDescription)")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigResolutionError(description: "\(path): config field '\(field)' has the wrong type")
        } catch {
            throw ConfigResolutionError(description: "\(path): not a JSON config")
        }
    }
}
