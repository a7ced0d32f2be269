import Testing
import LavitImage
import LavitTestSupport

func image(_ width: Int, _ height: Int, _ pixel: (Int, Int) -> [UInt8]) -> RGBImage {
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width { pixels += pixel(x, y) }
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

func repeated(_ pixel: [UInt8], _ count: Int) -> [UInt8] {
    Array([[UInt8]](repeating: pixel, count: count).joined())
}

func run(_ preprocess: Preprocessor, _ input: RGBImage) -> [UInt8] {
    var out: [UInt8] = []
    preprocess(input, into: &out)
    return out
}

/// Outputs of the Python implementation in Tools/make_image_fixtures.py, written from the doc
/// comment of `Preprocessor`; the source is decoded here, so this also covers decode + resize.
@Test(arguments: manifest("pre"))
func matchesThePythonReferenceBitForBit(_ row: ManifestRow) throws {
    let source = row.fields[1]
    let encoded =
        source.hasSuffix(".ref.rgb")
        ? source.replacing(".ref.rgb", with: ".jpg") : source.replacing(".rgb", with: ".png")
    let decoded = try ImageDecoder.decode(path: fixture(encoded))
    #expect(decoded.pixels == (try readFile(fixture(source))))
    let preprocess = Preprocessor(height: row.int(4), width: row.int(5), channels: row.int(6))
    #expect(run(preprocess, decoded) == (try readFile(fixture(row.fields[7]))))
}

/// A Fashion-MNIST PNG fed to a 28x28 one-channel model comes through untouched: the expected
/// bytes are the dataset's own.
@Test func equalSizeIsAnExactCopy() throws {
    let decoded = try ImageDecoder.decode(path: fixture("fashion_28x28.png"))
    let original = try readFile(fixture("fashion_28x28.rgb"))
    let gray = stride(from: 0, to: original.count, by: 3).map { original[$0] }
    #expect(run(Preprocessor(height: 28, width: 28, channels: 1), decoded) == gray)
    #expect(run(Preprocessor(height: 28, width: 28, channels: 3), decoded) == original)
    let rgb = try ImageDecoder.decode(path: fixture("png_rgb8_37x23.png"))
    #expect(run(Preprocessor(height: 23, width: 37, channels: 3), rgb) == rgb.pixels)
}

@Test(arguments: [
    // (source W, H, model w, h, expected crop x, y, width, height)
    [100, 50, 32, 32, 25, 0, 50, 50],   // wide: sides cut
    [50, 100, 32, 32, 0, 25, 50, 50],   // tall: top and bottom cut
    [640, 480, 224, 224, 80, 0, 480, 480],
    [640, 480, 16, 9, 0, 60, 640, 360],  // 4:3 camera, 16:9 model
    [101, 50, 10, 10, 25, 0, 50, 50],   // odd margin: the extra column goes right
    [37, 23, 40, 9, 0, 7, 37, 8],       // 37 * 9 / 40 = 8.3: floor
    [28, 28, 28, 28, 0, 0, 28, 28],
    [1, 1000, 1000, 1, 0, 499, 1, 1],   // never empty
])
func cropIsTheLargestCentredRectangle(_ c: [Int]) {
    let rect = Preprocessor(height: c[3], width: c[2], channels: 3).crop(sourceWidth: c[0], sourceHeight: c[1])
    #expect(rect == CropRect(x: c[4], y: c[5], width: c[6], height: c[7]))
}

/// Red bars on the sides, blue bars top and bottom; a centre crop must see neither.
@Test func cropDropsTheBorders() {
    let green: [UInt8] = [0, 255, 0]
    let wide = image(60, 20) { x, _ in x < 20 || x >= 40 ? [255, 0, 0] : green }
    let tall = image(20, 60) { _, y in y < 20 || y >= 40 ? [0, 0, 255] : green }
    for input in [wide, tall] {
        #expect(run(Preprocessor(height: 8, width: 8, channels: 3), input) == repeated(green, 64))
        let luma = Preprocessor.luma(0, 255, 0)
        #expect(run(Preprocessor(height: 8, width: 8, channels: 1), input) == repeated([luma], 64))
    }
}

@Test func areaDownscaleOfAConstantImageIsConstant() {
    var random = SplitMix64(state: 11)
    for _ in 0..<10 {
        let colour = (0..<3).map { _ in UInt8.random(in: 0...255, using: &random) }
        let width = Int.random(in: 30...90, using: &random)
        let height = Int.random(in: 30...90, using: &random)
        let input = image(width, height) { _, _ in colour }
        let size = (Int.random(in: 1...29, using: &random), Int.random(in: 1...29, using: &random))
        let out = run(Preprocessor(height: size.0, width: size.1, channels: 3), input)
        #expect(out == repeated(colour, size.0 * size.1), "\(width)x\(height) -> \(size)")
    }
}

@Test func halvingIsTheRounded2x2Mean() {
    var random = SplitMix64(state: 5)
    let input = image(32, 24) { _, _ in (0..<3).map { _ in UInt8.random(in: 0...255, using: &random) } }
    let out = run(Preprocessor(height: 12, width: 16, channels: 3), input)
    var expected: [UInt8] = []
    for y in 0..<12 {
        for x in 0..<16 {
            for c in 0..<3 {
                let at = { (dx: Int, dy: Int) in Int(input.pixels[((2 * y + dy) * 32 + 2 * x + dx) * 3 + c]) }
                expected.append(UInt8((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4))
            }
        }
    }
    #expect(out == expected)
}

/// A 3x downscale averages 3x3 blocks: partial-pixel weights are not involved.
@Test func thirdingIsTheRounded3x3Mean() {
    let input = image(9, 6) { x, y in [UInt8(x * 28 + y), UInt8(y * 40), UInt8((x * y) % 256)] }
    let out = run(Preprocessor(height: 2, width: 3, channels: 3), input)
    for y in 0..<2 {
        for x in 0..<3 {
            for c in 0..<3 {
                var sum = 0
                for dy in 0..<3 {
                    for dx in 0..<3 { sum += Int(input.pixels[((3 * y + dy) * 9 + 3 * x + dx) * 3 + c]) }
                }
                #expect(Int(out[(y * 3 + x) * 3 + c]) == (sum + 4) / 9)
            }
        }
    }
}

@Test func upscaledRampsStayMonotonicAndKeepTheirEnds() {
    let horizontal = image(8, 8) { x, _ in [UInt8(x * 30), UInt8(210 - x * 30), 7] }
    let out = run(Preprocessor(height: 37, width: 37, channels: 3), horizontal)
    for y in 0..<37 {
        let red = (0..<37).map { out[(y * 37 + $0) * 3] }
        let green = (0..<37).map { out[(y * 37 + $0) * 3 + 1] }
        #expect(zip(red, red.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(zip(green, green.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(red.first == 0 && red.last == 210)
        #expect(red == (0..<37).map { out[$0 * 3] }, "rows differ")
        #expect((0..<37).allSatisfy { out[(y * 37 + $0) * 3 + 2] == 7 })
    }
    let vertical = image(5, 5) { _, y in [UInt8(y * 60), 0, 0] }
    let column = run(Preprocessor(height: 23, width: 23, channels: 3), vertical)
    let reds = (0..<23).map { column[$0 * 23 * 3] }
    #expect(zip(reds, reds.dropFirst()).allSatisfy { $0 <= $1 })
    #expect(reds.first == 0 && reds.last == 240)
}

/// 2x upscale of two pixels 0 and 100: centres at 1/4 and 3/4 give 0, 25, 75, 100.
@Test func bilinearWeightsAreCentreAligned() {
    let input = image(2, 1) { x, _ in [UInt8(x * 100), UInt8(x * 100), UInt8(x * 100)] }
    let out = run(Preprocessor(height: 2, width: 4, channels: 1), input)
    #expect(out == [0, 25, 75, 100, 0, 25, 75, 100])
}

@Test func lumaOfPureColours() {
    // BT.601: Y = 0.299 R + 0.587 G + 0.114 B.
    #expect(abs(Double(Preprocessor.luma(255, 0, 0)) - 0.299 * 255) <= 1)
    #expect(abs(Double(Preprocessor.luma(0, 255, 0)) - 0.587 * 255) <= 1)
    #expect(abs(Double(Preprocessor.luma(0, 0, 255)) - 0.114 * 255) <= 1)
    #expect(Preprocessor.luma(0, 0, 0) == 0)
    #expect(Preprocessor.luma(255, 255, 255) == 255)
    for v in 0...255 { #expect(Preprocessor.luma(UInt8(v), UInt8(v), UInt8(v)) == UInt8(v)) }
    let colours = image(3, 1) { x, _ in [[255, 0, 0], [0, 255, 0], [0, 0, 255]][x] }
    let out = run(Preprocessor(height: 1, width: 3, channels: 1), colours)
    #expect(out == [Preprocessor.luma(255, 0, 0), Preprocessor.luma(0, 255, 0), Preprocessor.luma(0, 0, 255)])
    #expect(out == [77, 149, 29])
}

/// The daemon hands the same buffer in for every frame: it must be overwritten in place, every
/// byte of it, whatever the input size.
@Test func repeatedCallsReuseTheCallersBuffer() throws {
    let preprocess = Preprocessor(height: 16, width: 16, channels: 3)
    var out: [UInt8] = []
    let inputs = [
        try ImageDecoder.decode(path: fixture("jpeg_420_37x29.jpg")),
        try ImageDecoder.decode(path: fixture("png_gray8_29x17.png")),
        image(8, 8) { x, y in [UInt8(x), UInt8(y), 0] },
    ]
    preprocess(inputs[0], into: &out)
    let base = out.withUnsafeBufferPointer { $0.baseAddress }
    for round in 0..<3 {
        for input in inputs {
            let fresh = run(preprocess, input)
            for i in out.indices { out[i] = 0xA5 }
            preprocess(input, into: &out)
            #expect(out == fresh, "round \(round)")
            #expect(out.count == preprocess.outputCount)
            #expect(out.withUnsafeBufferPointer { $0.baseAddress } == base)
        }
    }
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: preprocess.outputCount)
    defer { buffer.deallocate() }
    preprocess(inputs[1], into: buffer)
    #expect(Array(buffer) == run(preprocess, inputs[1]))
}
