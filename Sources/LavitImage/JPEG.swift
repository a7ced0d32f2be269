import CTurboJPEG

extension ImageDecoder {
    /// Accurate integer IDCT and fancy (smooth) chroma upsampling, libjpeg's defaults and djpeg's,
    /// so the pixels match other libjpeg-turbo decoders exactly. A warning (corrupt entropy data,
    /// a scan cut short) stops the decode and is an error: a damaged frame must not reach the
    /// model as a plausible image. LIMITSCANS refuses progressive files with absurd scan counts.
    static let jpegFlags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS

    /// Decodes a JPEG, at the smallest DCT scale (TurboJPEG's 1/8 ... 1/1) whose centre crop
    /// still covers `coverFor`'s output in both axes, so a 1280x720 frame for a 28x28 model
    /// decodes at 160x90 without ever upsampling a scaled image.
    func decodeJPEG(
        _ bytes: UnsafeRawBufferPointer, into image: inout RGBImage, coverFor preprocessor: Preprocessor? = nil
    ) throws(ImageError.Reason) {
        let length = try Self.jpegLength(bytes)
        let handle = try jpegDecompressor()
        let source = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorSpace: Int32 = 0
        guard tjDecompressHeader3(handle, source, UInt(length), &width, &height, &subsampling, &colorSpace) == 0 else {
            throw .badJPEG(jpegMessage(handle))
        }
        try ImageLimits.check(width: Int(width), height: Int(height))
        if let preprocessor {
            (width, height) = Self.scaledSize(width: width, height: height, coverFor: preprocessor)
        }
        image.resize(width: Int(width), height: Int(height))

        switch colorSpace {
        case Int32(TJCS_RGB.rawValue), Int32(TJCS_YCbCr.rawValue), Int32(TJCS_GRAY.rawValue):
            let status = image.pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(
                    handle, source, UInt(length), out.baseAddress, width, 0, height,
                    Int32(TJPF_RGB.rawValue), Self.jpegFlags)
            }
            guard status == 0 else { throw .badJPEG(jpegMessage(handle)) }
        case Int32(TJCS_CMYK.rawValue), Int32(TJCS_YCCK.rawValue):
            // TurboJPEG decodes these only to CMYK.
            let count = Int(width) * Int(height) * 4
            if cmykScratch.count != count { cmykScratch = [UInt8](repeating: 0, count: count) }
            let status = cmykScratch.withUnsafeMutableBufferPointer { out in
                tjDecompress2(
                    handle, source, UInt(length), out.baseAddress, width, 0, height,
                    Int32(TJPF_CMYK.rawValue), Self.jpegFlags)
            }
            guard status == 0 else { throw .badJPEG(jpegMessage(handle)) }
            Self.cmykToRGB(cmykScratch, into: &image.pixels)
        default:
            throw .unsupportedJPEGColorSpace(colorSpace)
        }
    }

    /// TurboJPEG's scaling factors no larger than 1, smallest first; read once.
    static let reducingFactors: [(num: Int, denom: Int)] = {
        var count: Int32 = 0
        guard let table = tjGetScalingFactors(&count), count > 0 else { return [] }
        return (0..<Int(count)).map { (Int(table[$0].num), Int(table[$0].denom)) }
            .filter { $0.num <= $0.denom }
            .sorted { $0.num * $1.denom < $1.num * $0.denom }
    }()

    /// The decoded size for the smallest factor that keeps the crop at least the model's size.
    static func scaledSize(width: Int32, height: Int32, coverFor preprocessor: Preprocessor) -> (Int32, Int32) {
        // An index loop: iterating the array directly allocates per element in debug builds.
        for index in 0..<reducingFactors.count {
            let factor = reducingFactors[index]
            if factor.num >= factor.denom { continue }
            // TJSCALED: ceil(dimension * num / denom).
            let w = (Int(width) * factor.num + factor.denom - 1) / factor.denom
            let h = (Int(height) * factor.num + factor.denom - 1) / factor.denom
            let crop = preprocessor.crop(sourceWidth: w, sourceHeight: h)
            if crop.width >= preprocessor.width && crop.height >= preprocessor.height { return (Int32(w), Int32(h)) }
        }
        return (width, height)
    }

    /// The length up to and including the end-of-image marker, or `.truncatedJPEG`. Trailing
    /// zero bytes are padding (v4l2loopback and some UVC cameras fill the buffer with them) and
    /// are dropped; anything else after the data means the frame was cut short. Checking this
    /// before decoding is what keeps a half-transferred frame from decoding as a grey-bottomed
    /// image.
    static func jpegLength(_ bytes: UnsafeRawBufferPointer) throws(ImageError.Reason) -> Int {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        guard end >= 4, bytes[end - 2] == 0xFF, bytes[end - 1] == 0xD9 else { throw .truncatedJPEG }
        return end
    }

    /// `jpegLength` for capture code: the length without trailing zero padding, or nil when the
    /// data does not end in an end-of-image marker (a frame cut short, not worth decoding).
    public static func jpegDataLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        try? jpegLength(bytes)
    }

    /// TurboJPEG's CMYK is Adobe's inverted form (255 = no ink), as Photoshop and PIL write it, so
    /// each of R, G, B is `(X * K + 127) / 255` for X = C, M, Y: round(X * K / 255), no ties.
    static func cmykToRGB(_ cmyk: [UInt8], into rgb: inout [UInt8]) {
        rgb.withUnsafeMutableBufferPointer { out in
            cmyk.withUnsafeBufferPointer { source in
                for pixel in 0..<(source.count / 4) {
                    let k = Int(source[4 * pixel + 3])
                    for channel in 0..<3 {
                        out[3 * pixel + channel] = UInt8((Int(source[4 * pixel + channel]) * k + 127) / 255)
                    }
                }
            }
        }
    }

    func jpegDecompressor() throws(ImageError.Reason) -> UnsafeMutableRawPointer {
        if let jpegHandle { return jpegHandle }
        guard let handle = tjInitDecompress() else {
            throw .badJPEG("cannot create a TurboJPEG decompressor: " + String(cString: tjGetErrorStr2(nil)))
        }
        jpegHandle = handle
        return handle
    }

    func destroyJPEGHandle() {
        if let jpegHandle { _ = tjDestroy(jpegHandle) }
        jpegHandle = nil
    }

    func jpegMessage(_ handle: UnsafeMutableRawPointer) -> String {
        oneLine(String(cString: tjGetErrorStr2(handle)))
    }
}
