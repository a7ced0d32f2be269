import CPNG

extension ImageDecoder {
    /// Two passes through the shim: the header for the size (checked against the limits before
    /// any buffer exists), then the pixels straight into `image`.
    func decodePNG(_ bytes: UnsafeRawBufferPointer, into image: inout RGBImage) throws(ImageError.Reason) {
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var message = [CChar](repeating: 0, count: 256)
        var width: UInt32 = 0
        var height: UInt32 = 0
        let header = message.withUnsafeMutableBufferPointer { text in
            lavit_png_header(source, bytes.count, &width, &height, text.baseAddress, text.count)
        }
        guard header == 0 else { throw .badPNG(Self.text(message)) }
        try ImageLimits.check(width: Int(width), height: Int(height))
        image.resize(width: Int(width), height: Int(height))
        let status = image.pixels.withUnsafeMutableBufferPointer { out in
            message.withUnsafeMutableBufferPointer { text in
                lavit_png_decode_rgb(source, bytes.count, out.baseAddress, width, height, text.baseAddress, text.count)
            }
        }
        guard status == 0 else { throw .badPNG(Self.text(message)) }
    }

    static func text(_ message: [CChar]) -> String {
        oneLine(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
