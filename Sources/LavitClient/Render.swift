import LavitText
/// Human-readable lines for what the daemon sends. Pure functions, so tests pin the format.
public enum Render {
    /// `21:50:18.123  Shirt 93.1%  Pullover 4.0%  (12.4 fps)`: the UTC clock time from the
    /// result's `time`, each label with its probability, the rate measured from the results'
    /// monotonic times, and how many results this client lost, if any.
    public static func result(_ result: ResultMessage, fps: Double?) -> String {
        var line = clock(result.time)
        for entry in result.top ?? [] {
            let name = entry.label.map(printable) ?? entry.index.map { "#\($0)" } ?? "?"
            line += "  \(name) \(entry.score.map { fixed($0 * 100, 1) + "%" } ?? "?")"
        }
        if let fps { line += "  (\(fixed(fps, 1)) fps)" }
        if let dropped = result.dropped, dropped > 0 { line += "  [\(dropped) dropped]" }
        if let file = result.file { line += "  " + printable(file.split(separator: "/").suffix(2).joined(separator: "/")) }
        return line
    }

    /// Text from the socket, control characters escaped, so a hostile label or path cannot move
    /// the cursor, colour the terminal or forge a second line.
    static func printable(_ text: String) -> String { escapedControls(text) }

    /// `status: /dev/video0 online (streaming), 29.9 fps, 1234 frames, ...`
    public static func status(_ status: StatusMessage) -> String {
        var line = "status: \(printable(status.device ?? "?")) \(status.online == true ? "online" : "offline")"
        if let reason = status.reason, !reason.isEmpty { line += " (\(printable(reason)))" }
        line += ", \(fixed(status.fps ?? 0, 1)) fps, \(status.frames ?? 0) frames, \(status.skipped ?? 0) skipped"
        line += ", \(status.corrupt ?? 0) corrupt, \(status.reopens ?? 0) reopens"
        if let latency = status.latency_ms {
            let values = [latency.p50, latency.p90, latency.p99].map { fixed($0 ?? 0, 1) }.joined(separator: "/")
            line += ", latency p50/p90/p99 \(values) ms"
        }
        if let clients = status.clients { line += ", \(clients) client\(clients == 1 ? "" : "s")" }
        return line
    }

    /// `lavitd: model lavit-fashion (sha256 ab12cd34ef56), 10 labels, input 28x28x1, device /dev/video0`
    public static func hello(_ hello: HelloMessage) -> String {
        var line = "lavitd: model \(printable(hello.model ?? "?"))"
        if let sha = hello.model_sha256, !sha.isEmpty { line += " (sha256 \(printable(String(sha.prefix(12)))))" }
        line += ", \(hello.labels?.count ?? 0) labels"
        if let input = hello.input { line += ", input \(input.width)x\(input.height)x\(input.channels)" }
        if let device = hello.device { line += ", device \(printable(device))" }
        return line
    }

    /// Results per second from the monotonic times of two consecutive results; nil when there
    /// is no earlier one or the times do not advance.
    public static func fps(previous: UInt64?, current: UInt64?) -> Double? {
        guard let previous, let current, current > previous else { return nil }
        return 1e9 / Double(current - previous)
    }

    /// `HH:MM:SS.mmm` out of `2026-12-01T21:50:18.123Z`, or dashes when the time is missing or
    /// not in that form.
    static func clock(_ time: String?) -> String {
        let utf8 = Array((time ?? "").utf8)
        guard utf8.count >= 23, utf8[10] == UInt8(ascii: "T") else { return "--:--:--.---" }
        return String(decoding: utf8[11..<23], as: UTF8.self)
    }

    /// `x` with exactly `digits` decimals, rounded half away from zero, without Foundation.
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return "?" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (x.magnitude * scale).rounded()
        guard scaled < 1e15 else { return "?" }
        let units = Int(scaled)
        let factor = Int(scale)
        let sign = x < 0 && units != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(units) }
        let fraction = String(units % factor)
        return sign + String(units / factor) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
