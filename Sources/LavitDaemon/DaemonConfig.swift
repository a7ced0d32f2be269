import LavitKernels
import LavitSystem
import LavitText

/// Everything lavitd can be told, from `/etc/lavitd/lavitd.conf` and then the command line. One
/// table of keys serves both: `top_k = 5` in the file is `--top-k 5` on the command line, and
/// every value is checked where it is read, so a bad one stops lavitd at start with the key (and
/// the file's line) named, never later.
public struct DaemonConfig: Sendable, Equatable {
    /// A V4L2 device (`/dev/video0`, `/dev/v4l/by-id/...`), or image files: a file, a directory
    /// or a glob.
    public var source = "/dev/video0"
    public var model = "/usr/local/share/lavit/models/lavit-fashion.lvt"
    public var socket = "/run/lavitd/lavitd.sock"
    public var socketMode: UInt32 = 0o660
    public var topK = 3
    /// Most inferences per second; 0 runs one per frame the source delivers.
    public var rate = 0.0
    /// Capture size asked of the camera; 0 picks the smallest size at least the model input.
    public var width = 0
    public var height = 0
    /// Frame rate asked of the camera, or at which image files are replayed.
    public var fps = 30.0
    public var buffers = 4
    /// A camera that delivers nothing for this long is closed and reopened.
    public var frameTimeoutMilliseconds = 2000
    public var retryMilliseconds = 1000
    /// Stop after this many inferences (0: run until stopped). For demos and tests.
    public var frames = 0
    /// Replay image files forever (true) or once (false).
    public var loop = true
    public var maxClients = 64
    public var clientQueueKiB = 64
    /// A client whose queue stayed full this long is disconnected.
    public var clientTimeoutSeconds = 5.0
    /// Inference threads; 0: one per processor online.
    public var threads = 0
    /// The engine's kernels; nil: the fastest this CPU runs.
    public var kernels: Kernels?

    /// `threads`, with 0 resolved to the processors online.
    public var inferenceThreads: Int { threads > 0 ? threads : System.onlineProcessorCount }

    public init() {}

    public static let defaultPath = "/etc/lavitd/lavitd.conf"
}

/// A bad configuration value, file line or flag, as one line naming it.
public struct DaemonConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// "lavitd.conf:12" or "--top-k".
    public var place: String
    public var message: String

    public init(place: String, message: String) {
        self.place = place
        self.message = message
    }

    public var description: String { "\(place): \(message)" }
}

/// One configuration key: its name in the file (`top_k`), its help line, and how a value is
/// checked and stored.
struct ConfigKey: Sendable {
    var name: String
    var help: String
    var apply: @Sendable (inout DaemonConfig, String) -> String?

    /// The command-line spelling, `--top-k`.
    var flag: String { "--" + name.replacingUnderscores() }
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// Parsers that return an error message or nil, so the table stays one line a key.
enum Value {
    static func int(_ text: String, _ range: ClosedRange<Int>, _ store: (Int) -> Void) -> String? {
        guard let value = Int(text) else { return "\(quoted(text)) is not a whole number" }
        guard range.contains(value) else { return "\(value) is outside \(range.lowerBound)...\(range.upperBound)" }
        store(value)
        return nil
    }

    static func double(_ text: String, _ range: ClosedRange<Double>, _ store: (Double) -> Void) -> String? {
        guard let value = Double(text), value.isFinite else { return "\(quoted(text)) is not a number" }
        guard range.contains(value) else { return "\(text) is outside \(range.lowerBound)...\(range.upperBound)" }
        store(value)
        return nil
    }

    static func bool(_ text: String, _ store: (Bool) -> Void) -> String? {
        switch text {
        case "true", "yes", "on", "1": store(true)
        case "false", "no", "off", "0": store(false)
        default: return "\(quoted(text)) is not true or false"
        }
        return nil
    }

    static func path(_ text: String, _ store: (String) -> Void) -> String? {
        guard !text.isEmpty else { return "is empty" }
        guard text.utf8.count <= 4096, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return "\(quoted(text)) is not a usable path"
        }
        store(text)
        return nil
    }

    static func octalMode(_ text: String, _ store: (UInt32) -> Void) -> String? {
        guard let value = UInt32(text, radix: 8), value <= 0o777 else { return "\(quoted(text)) is not an octal mode like 0660" }
        store(value)
        return nil
    }

    /// Text from a file or the command line, quoted with control characters escaped, so it
    /// cannot break the one-line message it appears in.
    static func quoted(_ text: String) -> String {
        var kept = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(80) {
            if scalar == "\"" || scalar == "\\" { kept.append("\\") }
            kept.append(scalar)
        }
        return "\"" + escapedControls(String(kept)) + (text.unicodeScalars.count > 80 ? "...\"" : "\"")
    }
}

extension DaemonConfig {
    static let keys: [ConfigKey] = [
        ConfigKey(name: "source", help: "V4L2 device, or image file, directory or glob (default /dev/video0)") { c, v in
            Value.path(v) { c.source = $0 }
        },
        ConfigKey(name: "model", help: "int8 model file from lavit-quantize") { c, v in Value.path(v) { c.model = $0 } },
        ConfigKey(name: "socket", help: "Unix socket clients connect to (default /run/lavitd/lavitd.sock)") { c, v in
            Value.path(v) { c.socket = $0 }
        },
        ConfigKey(name: "socket_mode", help: "permissions of the socket file, octal (default 0660)") { c, v in
            Value.octalMode(v) { c.socketMode = $0 }
        },
        ConfigKey(name: "top_k", help: "labels per result, 1...20 (default 3)") { c, v in Value.int(v, 1...20) { c.topK = $0 } },
        ConfigKey(name: "rate", help: "most inferences per second, 0 = every frame (default 0)") { c, v in
            Value.double(v, 0...1000) { c.rate = $0 }
        },
        ConfigKey(name: "width", help: "capture width, 0 = smallest at least the model input") { c, v in
            Value.int(v, 0...16384) { c.width = $0 }
        },
        ConfigKey(name: "height", help: "capture height, 0 = smallest at least the model input") { c, v in
            Value.int(v, 0...16384) { c.height = $0 }
        },
        ConfigKey(name: "fps", help: "frame rate asked of the camera, or of image replay (default 30)") { c, v in
            Value.double(v, 0.1...1000) { c.fps = $0 }
        },
        ConfigKey(name: "buffers", help: "capture buffers, 2...8 (default 4)") { c, v in Value.int(v, 2...8) { c.buffers = $0 } },
        ConfigKey(name: "frame_timeout_ms", help: "no frame for this long: reopen the camera (default 2000)") { c, v in
            Value.int(v, 100...60000) { c.frameTimeoutMilliseconds = $0 }
        },
        ConfigKey(name: "retry_ms", help: "interval between reopen attempts (default 1000)") { c, v in
            Value.int(v, 10...60000) { c.retryMilliseconds = $0 }
        },
        ConfigKey(name: "frames", help: "stop after this many inferences, 0 = never (default 0)") { c, v in
            Value.int(v, 0...Int(Int32.max)) { c.frames = $0 }
        },
        ConfigKey(name: "loop", help: "replay image files forever (default true)") { c, v in Value.bool(v) { c.loop = $0 } },
        ConfigKey(name: "max_clients", help: "most clients at once, 1...1024 (default 64)") { c, v in
            Value.int(v, 1...1024) { c.maxClients = $0 }
        },
        ConfigKey(name: "client_queue_kib", help: "queue per client before messages drop, 4...4096 KiB (default 64)") { c, v in
            Value.int(v, 4...4096) { c.clientQueueKiB = $0 }
        },
        ConfigKey(name: "client_timeout_s", help: "disconnect a client that stops reading after this long (default 5)") { c, v in
            Value.double(v, 0.1...3600) { c.clientTimeoutSeconds = $0 }
        },
        ConfigKey(name: "threads", help: "inference threads, 0 = one per processor (default 0)") { c, v in
            Value.int(v, 0...256) { c.threads = $0 }
        },
        ConfigKey(name: "kernels", help: "engine kernels: auto (the fastest this CPU runs) or \(Kernels.allCases.map(\.rawValue).joined(separator: ", ")) (default auto)") { c, v in
            if v == "auto" {
                c.kernels = nil
                return nil
            }
            guard let kernels = Kernels(rawValue: v) else {
                return "\(Value.quoted(v)) is not auto or one of \(Kernels.allCases.map(\.rawValue).joined(separator: ", "))"
            }
            if let reason = kernels.unsupportedReason { return "\(v) cannot run here: \(reason)" }
            c.kernels = kernels
            return nil
        },
    ]

    static func key(named name: String) -> ConfigKey? { keys.first { $0.name == name } }

    /// Applies a configuration file's text. `name` is how messages name the file.
    public mutating func apply(file text: String, name: String) throws(DaemonConfigError) {
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let place = "\(name):\(lineNumber)"
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw DaemonConfigError(place: place, message: "expected 'key = value', found \(Value.quoted(String(trimmed)))")
            }
            let keyName = String(trimmed[..<equals].trimmingSpaces())
            let value = String(trimmed[trimmed.index(after: equals)...].trimmingSpaces())
            guard let key = Self.key(named: keyName) else {
                throw DaemonConfigError(place: place, message: "unknown key \(Value.quoted(keyName)) (known: \(Self.keys.map(\.name).joined(separator: ", ")))")
            }
            if let first = seen[keyName] {
                throw DaemonConfigError(place: place, message: "\(keyName) is already set on line \(first)")
            }
            seen[keyName] = lineNumber
            if let message = key.apply(&self, value) { throw DaemonConfigError(place: place, message: "\(keyName): \(message)") }
        }
    }

    /// Applies one command-line flag (`--top-k`) with its value.
    public mutating func apply(flag: String, value: String) throws(DaemonConfigError) {
        guard flag.hasPrefix("--"), let key = Self.keys.first(where: { $0.flag == flag }) else {
            throw DaemonConfigError(place: Value.quoted(flag), message: "unknown option (see --help)")
        }
        if let message = key.apply(&self, value) { throw DaemonConfigError(place: flag, message: message) }
    }

    /// Checks what no single key can: keys that must agree.
    public func validate() throws(DaemonConfigError) {
        if (width == 0) != (height == 0) {
            throw DaemonConfigError(place: "width, height", message: "give both (an exact capture size) or neither (the smallest at least the model input)")
        }
    }

    /// `--help` text for the keys, one per line.
    public static var keyHelp: String {
        keys.map { key in
            let flag = "  \(key.flag) VALUE"
            return flag + String(repeating: " ", count: max(1, 28 - flag.count)) + key.help
        }.joined(separator: "\n")
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let first = s.first, first == " " || first == "\t" || first == "\r" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return s
    }
}
