#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// What lavitd was asked to do by its command line.
public enum DaemonCommand: Sendable, Equatable {
    case run(DaemonConfig)
    /// Load and check the configuration and the model, then exit: for `ExecStartPre` and for a
    /// person editing the file.
    case check(DaemonConfig)
    case help
}

extension DaemonCommand {
    /// Reads each `--config FILE` in order (or the default file, if it exists, when none is
    /// given), skipping a `--config-if-present FILE` that does not exist, then applies every other
    /// flag over them: a later file wins over an earlier one, and flags win whatever their order.
    /// The template unit `lavitd@.service` layers `/etc/lavitd/%i.conf` over the common file so.
    public static func parse(_ arguments: [String], system: System = .live) throws(DaemonConfigError) -> DaemonCommand {
        var flags: [(flag: String, value: String)] = []
        var configFiles: [(path: String, required: Bool)] = []
        var check = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { return .help }
            if argument == "--check" {
                check = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw DaemonConfigError(place: Value.quoted(argument), message: "unexpected argument (options are --key value; see --help)")
            }
            var flag = argument
            var value: String
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                // `--top-k --fps 5` forgot a value; a value that really starts with "--" can be
                // given as `--key=--value`.
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw DaemonConfigError(place: flag, message: "needs a value")
                }
                value = arguments[index]
                index += 1
            }
            if flag == "--config" || flag == "--config-if-present" {
                configFiles.append((value, flag == "--config"))
            } else {
                flags.append((flag, value))
            }
        }
        var config = DaemonConfig()
        if configFiles.isEmpty { configFiles = [(DaemonConfig.defaultPath, false)] }
        for (path, required) in configFiles where required || access(path, F_OK) == 0 {
            let bytes: [UInt8]
            do throws(FileReadError) {
                bytes = try system.readFile(path, limit: 1 << 20)
            } catch {
                throw DaemonConfigError(place: path, message: "cannot read the configuration: \(error)")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw DaemonConfigError(place: path, message: "not UTF-8 text")
            }
            try config.apply(file: text, name: path)
        }
        for (flag, value) in flags { try config.apply(flag: flag, value: value) }
        try config.validate()
        return check ? .check(config) : .run(config)
    }

    public static let usage = """
        usage: lavitd [--config FILE] [--KEY VALUE ...] [--check]

        Reads camera frames (or image files), classifies them with an int8 LaViT model and
        publishes the labels as NDJSON on a Unix socket. Settings come from --config FILE
        (default \(DaemonConfig.defaultPath), if present); each KEY below is also a key of that
        file (with _ for -), and a flag overrides the file.

          --config FILE               configuration file (repeatable: later files win)
          --config-if-present FILE    the same, skipped if FILE does not exist
          --check                     check the configuration and the model, then exit
        \(DaemonConfig.keyHelp)
        """
}
