import Testing
import LavitImage

@Test func manifestIsComplete() {
    #expect(manifest("png").count == 13)
    #expect(manifest("jpeg").count == 7)
    #expect(manifest("bad").count == 10)
    #expect(manifest("pre").count == 18)
}

/// Expected RGB was computed by the fixture script from the samples it wrote, not by decoding.
@Test(arguments: manifest("png"))
func pngDecodesExactly(_ row: ManifestRow) throws {
    let image = try ImageDecoder.decode(path: fixture(row.file))
    #expect(image.width == row.int(2))
    #expect(image.height == row.int(3))
    #expect(image.pixels == (try readFile(fixture(row.fields[4]))))
}

/// The reference is PIL's decode, which runs the same libjpeg-turbo (accurate IDCT, fancy
/// upsampling) as djpeg; the source is what was encoded, so the decode must also be close to it.
@Test(arguments: manifest("jpeg"))
func jpegMatchesLibjpegAndSource(_ row: ManifestRow) throws {
    let image = try ImageDecoder.decode(path: fixture(row.file))
    #expect(image.width == row.int(2))
    #expect(image.height == row.int(3))
    #expect(image.pixels == (try readFile(fixture(row.fields[5]))))
    let source = try readFile(fixture(row.fields[4]))
    try #require(source.count == image.pixels.count)
    let error = zip(source, image.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
    let mean = Double(error) / Double(source.count)
    // Subsampled chroma smears the fixtures' hard, saturated colour edges (swapping R and B
    // would give more than 50).
    let subsampled = !["444", "gray", "cmyk"].contains { row.file.contains($0) }
    #expect(mean < (subsampled ? 8 : 3), "mean absolute error \(mean)")
}

@Test func jpegWithZeroPaddingDecodesTheSame() throws {
    let bytes = try readFile(fixture("jpeg_420_37x29.jpg"))
    let reference = try ImageDecoder.decode(bytes: bytes)
    for padding in [1, 2, 7, 4096] {
        let padded = bytes + [UInt8](repeating: 0, count: padding)
        #expect(try ImageDecoder.decode(bytes: padded) == reference)
    }
}

@Test func decoderReusesTheImageStorageForSameSizedFrames() throws {
    let decoder = ImageDecoder()
    let first = try readFile(fixture("jpeg_420_37x29.jpg"))
    let png = try readFile(fixture("png_rgb8_37x23.png"))
    var image = RGBImage(width: 1, height: 1)
    try first.withUnsafeBytes { try decoder.decode($0, into: &image) }
    let base = image.pixels.withUnsafeBufferPointer { $0.baseAddress }
    try first.withUnsafeBytes { try decoder.decode($0, into: &image) }
    #expect(image.pixels.withUnsafeBufferPointer { $0.baseAddress } == base)
    // A smaller image fits the same storage.
    try png.withUnsafeBytes { try decoder.decode($0, into: &image) }
    #expect(image.width == 37 && image.height == 23)
    #expect(image.pixels.withUnsafeBufferPointer { $0.baseAddress } == base)
    #expect(image.pixels == (try readFile(fixture("png_rgb8_37x23.rgb"))))
}

/// A failed decode must not leave the TurboJPEG handle unusable for the next frame.
@Test func decoderRecoversAfterAnError() throws {
    let decoder = ImageDecoder()
    var image = RGBImage(width: 1, height: 1)
    for bad in ["corrupt_entropy.jpg", "scan_cut.jpg", "huge_dims.jpg", "bad_crc.png"] {
        let bytes = try readFile(fixture(bad))
        #expect(throws: ImageError.self) { try bytes.withUnsafeBytes { try decoder.decode($0, into: &image) } }
        let good = try readFile(fixture("jpeg_progressive_41x27.jpg"))
        try good.withUnsafeBytes { try decoder.decode($0, into: &image) }
        #expect(image.pixels == (try readFile(fixture("jpeg_progressive_41x27.ref.rgb"))))
    }
}
