import FoundationEssentials

/// Offset of the first byte that is not part of valid UTF-8, or nil when all of it is valid.
/// Error messages point at the byte, which a bare `String(validating:)` cannot.
func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &iterator) {
        case .valid(let scalar): offset += scalar.count
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}

/// Checks that UTF-8 text is one JSON object, as both readers require of the metadata. Returns a
/// one-line reason with the byte, line and column when it is not; config and checkpoint readers
/// use it to say where a document JSONDecoder refused goes wrong.
public func jsonObjectProblem(_ text: UnsafeRawBufferPointer) -> String? {
    if let offset = firstInvalidUTF8Offset(text) { return "not valid UTF-8 at byte \(offset)" }
    do {
        try JSONSyntax.checkObject(text)
        return nil
    } catch {
        return error.message
    }
}

/// A decoding error as one line in the file's own terms: the key as the JSON spells it (not
/// Swift's `CodingKeys(stringValue:...)`), where it sits, and what was wrong.
func oneLine(_ error: any Error) -> String {
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
