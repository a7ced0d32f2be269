/// Why a config cannot describe a buildable model. Each case names the JSON field and, where it
/// applies, the stage, so a bad config file can be fixed from the message alone.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case noStages
    case tooManyStages(count: Int, limit: Int)
    case stageListLength(field: String, count: Int, expected: Int)
    case imageSizeCount(Int)
    case inputChannels(Int)
    case notPositive(field: String, stage: Int?, value: Int)
    case tooLarge(field: String, stage: Int?, value: Int, limit: Int)
    case badEpsilon(Double)
    case inputStatsCount(field: String, count: Int, expected: Int)
    case badInputStat(field: String, channel: Int, value: Double)
    case headsDoNotDivide(stage: Int, dim: Int, heads: Int)
    case numVAOutOfRange(stage: Int, numVA: Int, depth: Int)
    case emptyQueryGrid(stage: Int, height: Int, width: Int)
    case emptyKeyGrid(stage: Int, height: Int, width: Int, srRatio: Int)
    case keyGridMismatch(stage: Int, height: Int, width: Int, previousHeight: Int, previousWidth: Int)
    case modelTooLarge(quantity: String, count: Int, limit: Int)

    public var description: String {
        switch self {
        case .noStages:
            "embed_dims is empty; a config needs at least one stage"
        case .tooManyStages(let count, let limit):
            "embed_dims has \(count) stages, above the limit \(limit)"
        case .stageListLength(let field, let count, let expected):
            "\(field) has \(count) entries, expected \(expected) (one per stage, like embed_dims)"
        case .imageSizeCount(let count):
            "image_size has \(count) entries, expected 2 ([H, W])"
        case .inputChannels(let value):
            "in_chans must be 1 (luma) or 3 (RGB), got \(value)"
        case .notPositive(let field, let stage, let value):
            "\(Self.subject(field, stage)) must be >= 1, got \(value)"
        case .tooLarge(let field, let stage, let value, let limit):
            "\(Self.subject(field, stage)) is \(value), above the limit \(limit)"
        case .badEpsilon(let value):
            "ln_eps must be a finite number > 0, got \(value)"
        case .inputStatsCount(let field, let count, let expected):
            "\(field) has \(count) entries, expected in_chans = \(expected)"
        case .badInputStat(let field, let channel, let value):
            field == "input_std"
                ? "input_std of channel \(channel) must be finite and > 0, got \(value)"
                : "\(field) of channel \(channel) must be finite, got \(value)"
        case .headsDoNotDivide(let stage, let dim, let heads):
            "embed_dims of stage \(stage) (\(dim)) is not divisible by num_heads (\(heads))"
        case .numVAOutOfRange(let stage, let numVA, let depth):
            "num_va of stage \(stage) is \(numVA), expected 1...\(depth) (depths of stage \(stage))"
        case .emptyQueryGrid(let stage, let height, let width):
            "stage \(stage) query grid is \(height)x\(width); image_size is too small for patch_size and the stage count"
        case .emptyKeyGrid(let stage, let height, let width, let srRatio):
            "stage \(stage) key grid is \(height)x\(width); sr_ratios of stage \(stage) (\(srRatio)) exceeds its query grid"
        case .keyGridMismatch(let stage, let height, let width, let previousHeight, let previousWidth):
            "attention_residual needs equal key grids, but stage \(stage) has \(height)x\(width) and stage \(stage - 1) has \(previousHeight)x\(previousWidth)"
        case .modelTooLarge(let quantity, let count, let limit):
            "config needs \(count == Int.max ? "more than \(limit)" : "\(count)") \(quantity), above the limit \(limit)"
        }
    }

    private static func subject(_ field: String, _ stage: Int?) -> String {
        stage.map { "\(field) of stage \($0)" } ?? field
    }
}
