/// Paths in the repository, found from this file's path so tests run from any directory.
public enum RepositoryPaths {
    /// The repository root, without a trailing slash.
    public static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        while let last = parts.last, last != "Tests" { parts.removeLast() }
        parts.removeLast()
        return parts.joined(separator: "/")
    }()

    public static let fixtures = root + "/Tests/Fixtures"
    /// The model the project ships: Fashion-MNIST, 28x28 luma.
    public static let shippedModel = root + "/Tools/models/lavit-fashion.lvt"
    public static let photos = [
        "astronaut", "coffee", "chelsea", "motorcycle_left",
    ].map { root + "/Tests/Fixtures/photos/\($0)_1280x720_q85.jpg" }
}
