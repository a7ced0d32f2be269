import FuzzDriver
import LavitImage

/// JPEG and PNG decoding, then the preprocessing lavitd and the quantizer share, into both a
/// luma and an RGB model input of awkward sizes.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(input(data, size))
    guard let image = try? ImageDecoder.decode(bytes: bytes) else { return 0 }
    var out: [UInt8] = []
    Preprocessor(height: 7, width: 5, channels: 1)(image, into: &out)
    Preprocessor(height: 24, width: 32, channels: 3)(image, into: &out)
    return 0
}
