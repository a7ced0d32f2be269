import LavitSystem
/// Decodes JPEG and PNG into 8-bit RGB, telling the two apart by their signatures, never by the
/// file name.
///
/// One decoder holds a TurboJPEG handle and a CMYK scratch buffer, and decoding into an existing
/// `RGBImage` reuses its pixel storage, so a stream of same-sized frames gets no new buffers
/// (libjpeg's own working memory is still allocated per decode). Not thread-safe: give each
/// thread its own. The static functions make a decoder per call, for one-off files.
///
/// Pixels come out as stored: EXIF orientation, ICC profiles and PNG gamma are not applied, the
/// same for calibration images and camera frames.
public final class ImageDecoder {
    var jpegHandle: UnsafeMutableRawPointer?
    /// CMYK JPEGs decode here before conversion to RGB.
    var cmykScratch: [UInt8] = []

    public init() {}

    deinit { destroyJPEGHandle() }

    /// Decodes `bytes` into `image`, resizing it as needed. On error `image` keeps a valid size
    /// but its pixels are unspecified.
    /// With `coverFor`, a JPEG decodes at the smallest DCT scale whose crop still covers that
    /// preprocessor's output (see `decodeJPEG`); PNG always decodes at full size.
    public func decode(
        _ bytes: UnsafeRawBufferPointer, into image: inout RGBImage, coverFor preprocessor: Preprocessor? = nil
    ) throws(ImageError) {
        do throws(ImageError.Reason) {
            switch try ImageFormat(sniffing: bytes) {
            case .jpeg: try decodeJPEG(bytes, into: &image, coverFor: preprocessor)
            case .png: try decodePNG(bytes, into: &image)
            }
        } catch {
            throw ImageError(error)
        }
    }

    public static func decode(bytes: [UInt8]) throws(ImageError) -> RGBImage {
        var image = RGBImage(width: 1, height: 1)
        let decoder = ImageDecoder()
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(ImageError) in try decoder.decode(buffer, into: &image) }
        }
        try result.get()
        return image
    }

    /// Reads and decodes a file; errors name `path`.
    public static func decode(path: String) throws(ImageError) -> RGBImage {
        let bytes = try read(path: path)
        do throws(ImageError) {
            return try decode(bytes: bytes)
        } catch {
            throw ImageError(file: path, error.reason)
        }
    }

    /// An image file's bytes, refusing what cannot be an image file; errors name `path`.
    public static func read(path: String) throws(ImageError) -> [UInt8] {
        do throws(FileReadError) {
            return try System.live.readFile(path, limit: ImageLimits.maxFileBytes)
        } catch {
            switch error {
            case let .system(errno): throw ImageError(file: path, .system(call: errno.call, errno: errno.code))
            case .tooLarge: throw ImageError(file: path, .fileTooLarge(limit: ImageLimits.maxFileBytes))
            case let .notRegular(kind): throw ImageError(file: path, .notRegularFile(kind))
            }
        }
    }
}

enum ImageFormat {
    case jpeg, png

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    init(sniffing bytes: UnsafeRawBufferPointer) throws(ImageError.Reason) {
        if bytes.isEmpty { throw .empty }
        // Byte by byte: an array literal here would allocate on every camera frame.
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF {
            self = .jpeg
        } else if bytes.starts(with: Self.pngSignature) {
            self = .png
        } else {
            throw .unknownFormat(leadingBytes: Array(bytes.prefix(4)), looksLike: Self.otherFormat(bytes))
        }
    }

    /// Formats people are likely to drop into a calibration folder, for a clearer message.
    static func otherFormat(_ bytes: UnsafeRawBufferPointer) -> String? {
        let known: [(prefix: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "GIF"),
            (Array("BM".utf8), "BMP"),
            ([0x49, 0x49, 0x2A, 0x00], "TIFF"),
            ([0x4D, 0x4D, 0x00, 0x2A], "TIFF"),
            (Array("P5".utf8), "PGM"),
            (Array("P6".utf8), "PPM"),
            ([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50], "JPEG 2000"),
            ([0x89, 0x50, 0x4E, 0x47], "PNG with a damaged signature"),
        ]
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), bytes[8..<12].elementsEqual("WEBP".utf8) {
            return "WebP"
        }
        return known.first { bytes.starts(with: $0.prefix) }?.name
    }
}
