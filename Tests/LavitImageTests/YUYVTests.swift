import Testing
import LavitImage

/// BT.601 limited range, straight from the definition (Kr = 0.299, Kb = 0.114, Y 16...235,
/// chroma 16...240) in Double: an independent check of the fixed-point coefficients.
enum BT601 {
    static func rgb(y: Int, u: Int, v: Int) -> [Int] {
        let luma = Double(y - 16) * 255 / 219
        let cb = Double(u - 128) * 255 / 224
        let cr = Double(v - 128) * 255 / 224
        let r = luma + 1.402 * cr
        let g = luma - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr
        let b = luma + 1.772 * cb
        return [r, g, b].map { min(max(Int(($0 + 0.5).rounded(.down)), 0), 255) }
    }

    static func yuv(r: Int, g: Int, b: Int) -> (y: UInt8, u: UInt8, v: UInt8) {
        let luma = (0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b)) / 255
        let y = 16 + 219 * luma
        let u = 128 + 224 * (Double(b) / 255 - luma) / 1.772
        let v = 128 + 224 * (Double(r) / 255 - luma) / 1.402
        return (UInt8(y.rounded()), UInt8(u.rounded()), UInt8(v.rounded()))
    }
}

@Test func yuyvMatchesTheBT601FormulaWithinOne() throws {
    var frame: [UInt8] = []
    var expected: [[Int]] = []
    let ys = Array(stride(from: 0, through: 255, by: 5))
    for y in ys {
        for u in stride(from: 0, through: 255, by: 15) {
            for v in stride(from: 0, through: 255, by: 15) {
                frame += [UInt8(y), UInt8(u), UInt8(y), UInt8(v)]
                expected.append(BT601.rgb(y: y, u: u, v: v))
            }
        }
    }
    let width = frame.count / 2 / ys.count
    let image = try RGBImage(yuyv: frame, width: width, height: ys.count, bytesPerLine: 2 * width)
    var worst = 0
    for (pair, reference) in expected.enumerated() {
        for pixel in [2 * pair, 2 * pair + 1] {
            for channel in 0..<3 {
                worst = max(worst, abs(Int(image.pixels[3 * pixel + channel]) - reference[channel]))
            }
        }
    }
    #expect(worst <= 1)
}

@Test(arguments: [
    ("red", [255, 0, 0]), ("green", [0, 255, 0]), ("blue", [0, 0, 255]),
    ("white", [255, 255, 255]), ("black", [0, 0, 0]), ("grey", [128, 128, 128]),
])
func knownColoursSurviveYUYV(_ name: String, _ rgb: [Int]) throws {
    let (y, u, v) = BT601.yuv(r: rgb[0], g: rgb[1], b: rgb[2])
    let image = try RGBImage(yuyv: [y, u, y, v], width: 2, height: 1, bytesPerLine: 4)
    for pixel in 0..<2 {
        for channel in 0..<3 {
            // Within the 8-bit YUV quantisation step; black, white and grey are exact.
            let tolerance = rgb.allSatisfy { $0 == rgb[0] } ? 0 : 2
            #expect(abs(Int(image.pixels[3 * pixel + channel]) - rgb[channel]) <= tolerance, "\(name) \(image.pixels)")
        }
    }
}

@Test func yuyvHonoursStrideAndSharesChromaPerPair() throws {
    // 4x2 at 12 bytes per line: 4 padding bytes per row that must be ignored.
    let frame: [UInt8] = [
        81, 90, 145, 240, 235, 128, 16, 128, 0xAA, 0xBB, 0xCC, 0xDD,
        41, 240, 41, 110, 126, 128, 126, 128, 0xEE, 0xFF, 0x00, 0x11,
    ]
    let image = try RGBImage(yuyv: frame, width: 4, height: 2, bytesPerLine: 12)
    #expect(image.width == 4 && image.height == 2)
    let pixel = { (i: Int) in Array(image.pixels[3 * i..<3 * i + 3]) }
    for (index, (y, u, v)) in [(81, 90, 240), (145, 90, 240), (235, 128, 128), (16, 128, 128),
                               (41, 240, 110), (41, 240, 110), (126, 128, 128), (126, 128, 128)].enumerated() {
        let reference = BT601.rgb(y: y, u: u, v: v)
        #expect(zip(pixel(index), reference).allSatisfy { abs(Int($0) - $1) <= 1 }, "pixel \(index)")
    }
}

@Test func badYUYVFramesAreRefused() {
    let frame = [UInt8](repeating: 128, count: 64)
    #expect(throws: ImageError(.badYUYVFrame("width 3 is odd"))) {
        try RGBImage(yuyv: frame, width: 3, height: 2, bytesPerLine: 8)
    }
    #expect(throws: ImageError(.badYUYVFrame("6 bytes per line is less than 2 x width 4"))) {
        try RGBImage(yuyv: frame, width: 4, height: 2, bytesPerLine: 6)
    }
    #expect(throws: ImageError(.badYUYVFrame("64 bytes, 8x5 at 16 bytes per line needs 80"))) {
        try RGBImage(yuyv: frame, width: 8, height: 5, bytesPerLine: 16)
    }
    #expect(throws: ImageError(.tooLarge(width: 0, height: 2))) {
        try RGBImage(yuyv: frame, width: 0, height: 2, bytesPerLine: 8)
    }
    #expect(throws: ImageError(.tooLarge(width: 20000, height: 2))) {
        try RGBImage(yuyv: frame, width: 20000, height: 2, bytesPerLine: 40000)
    }
}

@Test func loadingYUYVReusesStorage() throws {
    var image = try RGBImage(yuyv: [UInt8](repeating: 100, count: 32), width: 4, height: 4, bytesPerLine: 8)
    let base = image.pixels.withUnsafeBufferPointer { $0.baseAddress }
    let next = (0..<32).map { UInt8($0 * 7) }
    try next.withUnsafeBytes { try image.loadYUYV($0, width: 4, height: 4, bytesPerLine: 8) }
    #expect(image.pixels.withUnsafeBufferPointer { $0.baseAddress } == base)
    #expect(image == (try RGBImage(yuyv: next, width: 4, height: 4, bytesPerLine: 8)))
}
