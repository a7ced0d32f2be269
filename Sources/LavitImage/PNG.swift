import CPNG

extension ImageDecoder {
    /// Two passes through the shim: the header for the size (checked against the limits before
    /// any buffer exists), then the pixels straight into `image`.
    func decodePNG(_ bytes: UnsafeRawBufferPointer, into image: inout RGBImage) throws(ImageError.Reason) {
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var message = [CChar](repeating: 0, count: 256)
        var width: UInt32 = 0
        var height: UInt32 = 0
        try Self.checkChunkLengths(bytes)
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

    /// libpng allocates a chunk's declared length before reading it, so a 105-byte file declaring
    /// a 1 GB tEXt chunk made it ask for 1 GB (found by Tools/fuzz.sh image). No chunk can be
    /// longer than what is left of the file: checked here, before libpng sees the bytes.
    static func checkChunkLengths(_ bytes: UnsafeRawBufferPointer) throws(ImageError.Reason) {
        var at = 8
        while bytes.count - at >= 8 {
            let length = (0..<4).reduce(0) { $0 << 8 | Int(bytes[at + $1]) }
            let left = bytes.count - at - 12
            let type = (4..<8).map { bytes[at + $0] }
            // IDAT is streamed, not buffered: a short one is truncation, which libpng reports.
            if length > left && type.elementsEqual("IDAT".utf8) { break }
            guard length <= left else {
                let name = type.allSatisfy { (0x41...0x5A).contains($0 & 0xDF) }
                    ? String(decoding: type, as: UTF8.self) : type.map { String($0, radix: 16) }.joined(separator: " ")
                throw .badPNG("chunk \(name) at byte \(at) declares \(length) bytes, more than the file holds (\(max(left, 0)))")
            }
            at += 12 + length
        }
    }

    static func text(_ message: [CChar]) -> String {
        oneLine(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
