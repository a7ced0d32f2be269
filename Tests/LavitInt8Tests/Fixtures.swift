import Glibc
import LavitModel
import LavitModelFile

/// The int8 golden vectors `Tools/make_int8_golden.py` writes from the Python integer reference:
/// `Tests/Fixtures/int8/<config>/model.lvt` and `golden.lvt`.
enum Int8Golden {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fixtures/int8"
    }()

    /// Every config directory holding both files, sorted.
    static let configs: [String] = {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard !name.hasPrefix(".") else { continue }
            if access(path(name, "model.lvt"), R_OK) == 0 && access(path(name, "golden.lvt"), R_OK) == 0 { names.append(name) }
        }
        return names.sorted()
    }()

    static func path(_ config: String, _ file: String) -> String { "\(root)/\(config)/\(file)" }
    static func model(_ config: String) throws -> ModelFile { try ModelFile.load(path: path(config, "model.lvt")) }
    static func vectors(_ config: String) throws -> ModelFile { try ModelFile.load(path: path(config, "golden.lvt")) }
    /// The model the project ships, `Tools/models/lavit-fashion.lvt`.
    static func shippedModel() throws -> ModelFile { try ModelFile.load(path: "\(root)/../../../Tools/models/lavit-fashion.lvt") }
}

/// Small configs for synthetic models: the three golden float configs (AR with reduced keys, a
/// rectangular grid with heads changing across stages, one channel without AR) and one whose
/// stage 0 ends on an LA block.
enum SyntheticConfigs {
    static let multi = Config(
        name: "multi", imageSize: [32, 32], numClasses: 10, patchSize: 4, embedDims: [8, 16, 24],
        depths: [2, 3, 2], numHeads: [1, 2, 3], numVA: [1, 1, 1], srRatios: [4, 2, 1], mlpRatios: [4, 3, 2])
    static let rect = Config(
        name: "rect", imageSize: [40, 56], numClasses: 10, patchSize: 4, embedDims: [8, 16, 24],
        depths: [2, 2, 3], numHeads: [2, 4, 3], numVA: [2, 1, 1], srRatios: [4, 2, 1], mlpRatios: [3, 2, 2],
        lnEps: 1e-5)
    static let plain = Config(
        name: "plain", imageSize: [21, 20], inChans: 1, numClasses: 10, patchSize: 2, embedDims: [8, 16, 24],
        depths: [2, 2, 2], numHeads: [1, 2, 2], numVA: [1, 2, 1], srRatios: [1, 1, 1], mlpRatios: [4, 3, 2],
        attentionResidual: false, lnEps: 1e-3, inputMean: [0.5], inputStd: [0.25])
    static let all = [multi, rect, plain]
    static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
