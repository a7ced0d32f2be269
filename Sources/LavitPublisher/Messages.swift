/// The protocol's objects, one line each, written by `JSONWriter` so nothing allocates. Every
/// object starts with its `class`, as gpsd's do, so clients can skip classes they do not know.
extension JSONWriter {
    /// Protocol version in `hello`; raised only when an existing field changes meaning.
    public static let protocolVersion = 1

    public mutating func hello(model: ModelInfo, device: String) {
        raw("{\"class\":\"hello\",\"protocol\":")
        integer(Self.protocolVersion)
        raw(",\"model\":")
        string(model.name)
        raw(",\"model_sha256\":")
        string(model.sha256)
        raw(",\"labels\":[")
        for (i, label) in model.labels.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            string(label)
        }
        raw("],\"input\":{\"width\":")
        integer(model.inputWidth)
        raw(",\"height\":")
        integer(model.inputHeight)
        raw(",\"channels\":")
        integer(model.inputChannels)
        raw("},\"device\":")
        string(device)
        raw("}\n")
    }

    /// A result with at most `topK` labels; `dropped` (messages this client lost since its last
    /// delivered one) appears only when non-zero.
    public mutating func result(_ result: Prediction, labels: [String], topK: Int, dropped: UInt64) {
        raw("{\"class\":\"result\",\"seq\":")
        unsigned(result.sequence)
        raw(",\"mono_ns\":")
        unsigned(result.monotonicNanoseconds)
        raw(",\"time\":")
        isoTime(wallNanoseconds: result.wallNanoseconds)
        raw(",\"top\":[")
        for i in 0..<min(topK, result.validCount) {
            if i > 0 { byte(UInt8(ascii: ",")) }
            let index = result.labelIndices[i]
            raw("{\"label\":")
            if index >= 0 && index < labels.count { string(labels[index]) } else { raw("null") }
            raw(",\"index\":")
            integer(index)
            raw(",\"score\":")
            fixed(result.scores[i], decimals: 4)
            byte(UInt8(ascii: "}"))
        }
        raw("],\"grab_ms\":")
        milliseconds(result.grabNanoseconds)
        raw(",\"decode_ms\":")
        milliseconds(result.decodeNanoseconds)
        raw(",\"infer_ms\":")
        milliseconds(result.inferNanoseconds)
        raw(",\"skipped\":")
        integer(result.skipped)
        if let file = result.file, file.utf8.count <= Prediction.maxFileBytes {
            raw(",\"file\":")
            string(file)
        }
        if dropped > 0 {
            raw(",\"dropped\":")
            unsigned(dropped)
        }
        raw("}\n")
    }

    public mutating func status(_ status: StatusSnapshot) {
        raw("{\"class\":\"status\",\"device\":")
        string(status.device)
        raw(",\"online\":")
        bool(status.online)
        raw(",\"reason\":")
        string(status.reason)
        raw(",\"fps\":")
        fixed(status.fps, decimals: 2)
        raw(",\"frames\":")
        unsigned(status.frames)
        raw(",\"skipped\":")
        unsigned(status.skipped)
        raw(",\"corrupt\":")
        unsigned(status.corrupt)
        raw(",\"reopens\":")
        unsigned(status.reopens)
        raw(",\"latency_ms\":{\"p50\":")
        fixed(status.latencyP50Milliseconds, decimals: 3)
        raw(",\"p90\":")
        fixed(status.latencyP90Milliseconds, decimals: 3)
        raw(",\"p99\":")
        fixed(status.latencyP99Milliseconds, decimals: 3)
        raw("},\"clients\":")
        integer(status.clients)
        if !status.reloadError.isEmpty {
            raw(",\"reload_error\":")
            string(status.reloadError)
        }
        raw("}\n")
    }

    /// The reply to a refused line, quoting (sanitized, shortened) what the client sent.
    public mutating func error<C: Collection<UInt8>>(_ error: CommandError, line: C) {
        raw("{\"class\":\"error\",\"message\":\"")
        switch error {
        case .unknown:
            raw("unknown command '")
            sanitized(line, limit: 40)
            raw("' (commands: ?status ?top=K ?rate=R ?hello ?ping)")
        case let .badArgument(.top, maximum):
            raw("?top=K takes K from 1 to ")
            integer(maximum)
            raw(", not '")
            sanitized(line, limit: 40)
            raw("'")
        case let .badArgument(.rate, maximum):
            raw("?rate=R takes R from 0 (every result) to ")
            integer(maximum)
            raw(" per second, up to 3 decimals, not '")
            sanitized(line, limit: 40)
            raw("'")
        case let .tooLong(limit):
            raw("line longer than ")
            integer(limit)
            raw(" bytes; the rest of it was discarded")
        }
        raw("\"}\n")
    }

    /// Sent to a connection beyond `maxClients` just before it is closed.
    public mutating func tooManyClients(_ limit: Int) {
        raw("{\"class\":\"error\",\"message\":\"too many clients (")
        integer(limit)
        raw(" connected); try again later\"}\n")
    }

    public mutating func pong() {
        raw("{\"class\":\"pong\"}\n")
    }

    /// Nanoseconds as milliseconds with three decimals, in integers: exact, no Double rounding.
    mutating func milliseconds(_ nanoseconds: UInt64) {
        let microseconds = (nanoseconds + 500) / 1000
        unsigned(microseconds / 1000)
        byte(UInt8(ascii: "."))
        let fraction = microseconds % 1000
        byte(UInt8(ascii: "0") + UInt8(fraction / 100))
        byte(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        byte(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    /// An upper bound on the bytes `hello` takes for `model` and `device`: every byte escaped as
    /// `\u00XX` at worst. Sizes the encoding buffer so any hello fits.
    static func helloBound(model: ModelInfo, device: String) -> Int {
        var bytes = 256 + 6 * (model.name.utf8.count + model.sha256.utf8.count + device.utf8.count)
        for label in model.labels { bytes += 6 * label.utf8.count + 3 }
        return bytes
    }

    /// An upper bound on a result's bytes with `maxTopK` of `model`'s labels.
    static func resultBound(model: ModelInfo, maxTopK: Int) -> Int {
        let longest = model.labels.lazy.map(\.utf8.count).max() ?? 0
        return 512 + maxTopK * (6 * longest + 80) + 6 * Prediction.maxFileBytes + 16
    }
}
