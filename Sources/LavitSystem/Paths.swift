#if canImport(Glibc)
import Glibc
#endif

/// Path questions asked once at start-up (what a pattern matches, whether a directory exists).
/// They go straight to libc: nothing here is a device a test needs to fake.
extension System {
    /// The paths `pattern` matches, sorted by glob(3); empty when nothing matches.
    public func glob(_ pattern: String) throws(Errno) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        switch Glibc.glob(pattern, 0, nil, &result) {
        case 0: break
        case GLOB_NOMATCH: return []
        case GLOB_NOSPACE: throw Errno(ENOMEM, call: "glob")
        default: throw Errno(EIO, call: "glob \(pattern)")
        }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths
    }

    /// `text` with glob's special characters escaped, to match only itself inside a pattern.
    public static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// What `path` is after following links: `S_IFDIR`, `S_IFREG` and so on.
    public func fileKind(_ path: String) throws(Errno) -> mode_t {
        var info = stat()
        _ = try retrying("stat") { fstatat(AT_FDCWD, path, &info, 0) < 0 ? -errno : 0 }
        return info.st_mode & S_IFMT
    }

    /// Creates `path` and any missing parents, like `mkdir -p`; an existing directory is fine.
    public func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(Errno) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            defer { prefix += "/" }
            if component == "." || component == ".." || Glibc.mkdir(prefix, mode) == 0 { continue }
            let code = errno
            guard code == EEXIST, (try? fileKind(prefix)) == S_IFDIR else {
                throw Errno(code == EEXIST ? ENOTDIR : code, call: "mkdir \(prefix)")
            }
        }
    }
}
