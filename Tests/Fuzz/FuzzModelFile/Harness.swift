import FuzzDriver
import LavitChecksum
import LavitInt8
import LavitModelFile

/// Model-file reader and engine load: any bytes either load or are refused with an error; a model
/// that loads also runs one inference on a grey image, where a bad table or scale would trap.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var bytes = Array(input(data, size))
    // A mutation almost never keeps the CRC and file_size fields right, which would stop nearly
    // every input at the checksum; most inputs get them recomputed so the fuzzer reaches the
    // metadata, table and engine checks. One in seven is left as is, to fuzz those checks too.
    if bytes.count >= 64 && bytes.count % 7 != 0 {
        for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: UInt64(bytes.count) >> (8 * i)) }
        for i in 52..<56 { bytes[i] = 0 }
        let crc = bytes.withUnsafeBytes { CRC32.update(0, $0) }
        for i in 0..<4 { bytes[52 + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
    }
    guard let file = try? ModelFile.parse(bytes: bytes, source: "fuzz"),
        let engine = try? Int8Engine(modelFile: file)
    else { return 0 }
    // Large inputs make each run slow without reaching new code.
    guard engine.model.inputByteCount <= 1 << 16 else { return 0 }
    let image = [UInt8](repeating: 128, count: engine.model.inputByteCount)
    _ = image.withUnsafeBufferPointer { try? engine.infer(image: $0) }
    return 0
}
