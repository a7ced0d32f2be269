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
