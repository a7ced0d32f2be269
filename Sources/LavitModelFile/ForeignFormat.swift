/// Names the kind of file that starts with `bytes`, so a user who passes a checkpoint where a
/// model file belongs is told so instead of getting only "bad magic".
func foreignFormat(_ bytes: UnsafeRawBufferPointer) -> String? {
    if bytes.starts(with: Array("PK\u{3}\u{4}".utf8)) {
        return "a zip archive, e.g. a PyTorch .pth checkpoint; run lavit-quantize on it first"
    }
    if bytes.starts(with: [0x80]) && bytes.count > 1 && (2...5).contains(bytes[1]) {
        return "a Python pickle, e.g. a legacy PyTorch checkpoint; run lavit-quantize on it first"
    }
    if bytes.count >= 9 && bytes[8] == UInt8(ascii: "{") {
        return "a safetensors file; run lavit-quantize on it first"
    }
    if bytes.starts(with: Array("GGUF".utf8)) { return "a GGUF model file" }
    if bytes.starts(with: [0x89] + Array("HDF".utf8)) { return "an HDF5 file" }
    if bytes.starts(with: Array("LAVITQ".utf8)) { return "a lavit model file of another kind" }
    if let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
       first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
        return "JSON text"
    }
    return nil
}
