extension Config {
    /// The variants of MODEL.md's table, in the order the paper lists them.
    public static let variantNames = ["lavit-t", "lavit-s", "lavit-b"]

    /// A named variant (224 x 224, 1000 classes), or nil for an unknown name.
    public static func variant(named name: String) -> Config? {
        switch name {
        case "lavit-t":
            imageNetVariant(name, dims: [64, 128, 256, 512], heads: [1, 2, 4, 8], depths: [2, 2, 2, 2], numVA: [2, 2, 1, 1])
        case "lavit-s":
            imageNetVariant(name, dims: [64, 128, 320, 512], heads: [1, 2, 5, 8], depths: [3, 4, 6, 3], numVA: [3, 4, 3, 1])
        case "lavit-b":
            imageNetVariant(name, dims: [64, 128, 320, 512], heads: [1, 2, 5, 8], depths: [3, 4, 18, 3], numVA: [3, 4, 9, 1])
        default:
            nil
        }
    }

    private static func imageNetVariant(
        _ name: String, dims: [Int], heads: [Int], depths: [Int], numVA: [Int]
    ) -> Config {
        Config(
            name: name, imageSize: [224, 224], numClasses: 1000, patchSize: 4, embedDims: dims,
            depths: depths, numHeads: heads, numVA: numVA, srRatios: [8, 4, 2, 1], mlpRatios: [6, 6, 4, 4])
    }
}
