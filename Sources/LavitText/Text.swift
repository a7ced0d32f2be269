/// Text from files, devices, libraries and sockets, made safe for the one-line messages lavit
/// prints and logs. One escaper for every program, so a label or a path reads the same in
/// lavit-quantize's report, lavitd's log and lavit-client's output.

/// A decoding error as one line in the file's own terms: the key as the JSON spells it (not
/// Swift's `CodingKeys(stringValue:...)`), where it sits, and what was wrong.
public func decodingErrorLine(_ error: any Error) -> String {
    func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return "'\(escapedControls(text))'"
    }
    let text: String
    switch error as? DecodingError {
    case .keyNotFound(let key, let context)?:
        text = "missing key '\(escapedControls(key.stringValue))'"
            + (context.codingPath.isEmpty ? "" : " in \(path(context.codingPath))")
    case .typeMismatch(let type, let context)?:
        text = "\(path(context.codingPath)) has the wrong type (expected \(type))"
    case .valueNotFound(let type, let context)?:
        text = "\(path(context.codingPath)) is null (expected \(type))"
    case .dataCorrupted(let context)?:
        text = (context.codingPath.isEmpty ? "" : "at \(path(context.codingPath)): ") + context.debugDescription
    default:
        text = String(describing: error)
    }
    return escapedControls(text)
}

/// Control characters (C0, C1, line and paragraph separators) as `\u{..}` escapes, so text from
/// a file stays on one line and cannot drive a terminal.
public func escapedControls(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        let v = scalar.value
        if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 {
            out += scalar.escaped(asASCII: true)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
