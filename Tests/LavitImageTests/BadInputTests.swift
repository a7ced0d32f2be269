import Glibc
import Testing
import LavitImage
import LavitTestSupport

/// Every bad file gives one line: the path, then the cause the manifest names.
@Test(arguments: manifest("bad"))
func badFileGivesOneLineError(_ row: ManifestRow) throws {
    let path = fixture(row.file)
    let error = try #require(throws: ImageError.self) { try ImageDecoder.decode(path: path) }
    let text = error.description
    #expect(text.hasPrefix(path + ": "), "\(text)")
    #expect(text.contains(row.fields[2]), "\(text)")
    #expect(!text.contains("\n"))
    #expect(error.file == path)
}

@Test func missingFileNamesPathAndErrno() throws {
    let path = fixture("no_such_file.jpg")
    let error = try #require(throws: ImageError.self) { try ImageDecoder.decode(path: path) }
    #expect(error.description == "\(path): open failed: No such file or directory (errno 2)")
}

@Test func unknownFormatsAreNamed() {
    let cases: [([UInt8], String)] = [
        (Array("BM6\0\0\0".utf8), "not a JPEG or PNG (starts with 42 4D 36 00: BMP)"),
        (Array("RIFF\u{1}\0\0\0WEBPVP8 ".utf8), "not a JPEG or PNG (starts with 52 49 46 46: WebP)"),
        (
            [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x00],
            "not a JPEG or PNG (starts with 89 50 4E 47: PNG with a damaged signature)"
        ),
        ([0x07], "not a JPEG or PNG (starts with 07)"),
    ]
    for (bytes, message) in cases {
        #expect(decodeError(bytes)?.description == message)
    }
}

/// Cut at random lengths, a good JPEG never crashes the decoder and never comes back as an
/// image, with or without zero padding after the cut.
@Test(arguments: ["jpeg_420_37x29.jpg", "jpeg_progressive_41x27.jpg", "mjpeg_no_dht_32x24.jpg"])
func truncatedJPEGIsAlwaysRefused(_ name: String) throws {
    let bytes = try readFile(fixture(name))
    var random = SplitMix64(state: 42)
    for _ in 0..<50 {
        let length = Int.random(in: 0..<bytes.count, using: &random)
        let cut = Array(bytes.prefix(length))
        #expect(decodeError(cut) != nil, "\(name) cut at \(length) decoded")
        #expect(decodeError(cut + [0, 0, 0, 0]) != nil, "\(name) cut at \(length) and padded decoded")
    }
}

/// Cutting only the end-of-image marker is already enough to refuse the frame.
@Test func missingEndMarkerIsTruncation() throws {
    let bytes = try readFile(fixture("jpeg_420_37x29.jpg"))
    #expect(decodeError(Array(bytes.dropLast(2)))?.reason == .truncatedJPEG)
    #expect(decodeError(Array(bytes.dropLast(2)) + [0xFF, 0xD9, 0x13])?.reason == .truncatedJPEG)
}

@Test func truncatedPNGIsAlwaysRefused() throws {
    let bytes = try readFile(fixture("png_rgb8_adam7_33x21.png"))
    var random = SplitMix64(state: 7)
    for _ in 0..<50 {
        let length = Int.random(in: 0..<bytes.count, using: &random)
        #expect(decodeError(Array(bytes.prefix(length))) != nil, "cut at \(length) decoded")
    }
}

/// Corrupting any single byte of a frame may or may not be detectable, but must never crash.
@Test func flippedBytesNeverCrash() throws {
    for name in ["jpeg_444_33x21.jpg", "png_palette8_19x13.png"] {
        let bytes = try readFile(fixture(name))
        var random = SplitMix64(state: 3)
        for _ in 0..<100 {
            var damaged = bytes
            damaged[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            if let image = try? ImageDecoder.decode(bytes: damaged) {
                #expect(image.pixels.count == image.width * image.height * 3)
            }
        }
    }
}

@Test func limitsAreChecked() throws {
    #expect(ImageLimits.maxSide == 16384)
    #expect(ImageLimits.maxPixels == 64 << 20)
    let error = decodeError(try readFile(fixture("huge_dims.png")))
    #expect(error?.reason == .tooLarge(width: 70000, height: 3))
    #expect(error?.description == "image too large (70000x3; at most 16384 per side and 67108864 pixels)")
}

/// /proc files report size 0, so this reads through the grow-as-you-go path.
@Test func filesOfUnknownSizeAreReadToTheEnd() throws {
    let error = try #require(throws: ImageError.self) { try ImageDecoder.decode(path: "/proc/self/status") }
    #expect(error.description == "/proc/self/status: not a JPEG or PNG (starts with 4E 61 6D 65)")
    let directory = try #require(throws: ImageError.self) { try ImageDecoder.decode(path: "/") }
    #expect(directory.description == "/: not a regular file (a directory)")
}

/// A FIFO would block `open` forever waiting for a writer; it is refused at once instead.
@Test func fifosAreRefusedWithoutBlocking() throws {
    let path = "/tmp/lavit-image-fifo-\(getpid())"
    #expect(mkfifo(path, 0o600) == 0)
    defer { unlink(path) }
    let error = try #require(throws: ImageError.self) { try ImageDecoder.decode(path: path) }
    #expect(error.description == "\(path): not a regular file (a FIFO)")
}
