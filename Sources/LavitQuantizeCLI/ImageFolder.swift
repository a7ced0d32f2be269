#if canImport(Glibc)
import Glibc
#endif

/// Image files under a folder, and their labels in ImageFolder layout (`DIR/<class>/<file>`),
/// where `<class>` is `<index>_<name>` or a label name.
struct ImageFolder {
    struct Entry: Equatable {
        var path: String
        var label: Int?
    }

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Every JPEG/PNG below `root`, sorted by path so runs are reproducible.
    static func files(under root: String) throws -> [String] {
        var found: [String] = []
        guard try walk(root, into: &found, depth: 0) else {
            throw CLIError("\(root): not a folder of images")
        }
        guard !found.isEmpty else { throw CLIError("\(root): no .jpg, .jpeg or .png files") }
        return found.sorted()
    }

    /// False when `dir` is not a directory. Hidden entries are skipped and links to folders are
    /// not followed, so a link loop cannot recurse forever.
    private static func walk(_ dir: String, into found: inout [String], depth: Int) throws -> Bool {
        guard let handle = opendir(dir) else { return false }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix(".") else { continue }
            let path = dir + "/" + name
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR):
                if depth < 16 { _ = try walk(path, into: &found, depth: depth + 1) }
            case Int32(DT_REG), Int32(DT_LNK), Int32(DT_UNKNOWN):
                let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
                if name.contains("."), extensions.contains(ext) { found.append(path) }
            default:
                continue
            }
        }
        return true
    }

    /// Files with the class index their parent folder names; nil where the folder names no class.
    static func labelled(under root: String, labels: [String]) throws -> [Entry] {
        let normalized = labels.map(Self.folderName)
        return try files(under: root).map { path in
            let parts = path.split(separator: "/")
            let folder = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
            return Entry(path: path, label: classIndex(folder: folder, labels: normalized))
        }
    }

    static func classIndex(folder: String, labels: [String]) -> Int? {
        if let underscore = folder.firstIndex(of: "_"), let index = Int(folder[..<underscore]),
            labels.indices.contains(index)
        {
            return index
        }
        if let index = Int(folder), labels.indices.contains(index) { return index }
        return labels.firstIndex(of: folderName(folder))
    }

    /// How a label appears as a folder name: `T-shirt/top` -> `T-shirt_top`.
    static func folderName(_ label: String) -> String {
        String(label.map { $0 == "/" || $0 == " " ? "_" : $0 })
    }

    /// `count` entries spread evenly over `all` (all of them when there are fewer), so a capped
    /// calibration set still covers every class folder.
    static func spread<T>(_ all: [T], count: Int) -> [T] {
        guard count < all.count else { return all }
        return (0..<count).map { all[$0 * all.count / count] }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
