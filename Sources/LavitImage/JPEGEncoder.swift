import CTurboJPEG

/// RGB and YUYV frames to baseline JPEG through TurboJPEG, for saving camera frames that did not
/// arrive as JPEG. Holds one compressor and one output buffer, reused across calls; not
/// thread-safe.
public final class JPEGEncoder {
    public let quality: Int
    private var handle: UnsafeMutableRawPointer?
    private var output: [UInt8] = []
    private var image = RGBImage(width: 1, height: 1)

    /// `quality` 1...100, clamped.
    public init(quality: Int = 90) {
        self.quality = min(max(quality, 1), 100)
    }

    deinit { if let handle { _ = tjDestroy(handle) } }

    /// 4:2:2 chroma, as the camera sent it: 4:2:0 would halve vertical colour detail again.
    public func encode(yuyv: UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int) throws(ImageError) -> [UInt8] {
        try image.loadYUYV(yuyv, width: width, height: height, bytesPerLine: bytesPerLine)
        return try compress(image, subsampling: TJSAMP_422)
    }

    public func encode(_ image: RGBImage) throws(ImageError) -> [UInt8] {
        try compress(image, subsampling: TJSAMP_444)
    }

    private func compress(_ image: RGBImage, subsampling: TJSAMP) throws(ImageError) -> [UInt8] {
        do throws(ImageError.Reason) {
            try ImageLimits.check(width: image.width, height: image.height)
            let compressor = try compressor()
            let capacity = Int(tjBufSize(Int32(image.width), Int32(image.height), Int32(subsampling.rawValue)))
            guard capacity > 0 else { throw .badJPEG(message(compressor)) }
            if output.count < capacity { output = [UInt8](repeating: 0, count: capacity) }
            var size = UInt(capacity)
            // NOREALLOC: TurboJPEG writes into our buffer, sized by tjBufSize for the worst case,
            // and never frees or replaces it.
            let status = output.withUnsafeMutableBufferPointer { out in
                image.pixels.withUnsafeBufferPointer { pixels in
                    var destination = out.baseAddress
                    return tjCompress2(
                        compressor, pixels.baseAddress, Int32(image.width), 0, Int32(image.height),
                        Int32(TJPF_RGB.rawValue), &destination, &size, Int32(subsampling.rawValue), Int32(quality),
                        TJFLAG_ACCURATEDCT | TJFLAG_NOREALLOC)
                }
            }
            guard status == 0, size <= UInt(capacity) else { throw .badJPEG(message(compressor)) }
            return Array(output[..<Int(size)])
        } catch {
            throw ImageError(error)
        }
    }

    private func compressor() throws(ImageError.Reason) -> UnsafeMutableRawPointer {
        if let handle { return handle }
        guard let created = tjInitCompress() else {
            throw .badJPEG("cannot create a TurboJPEG compressor: " + String(cString: tjGetErrorStr2(nil)))
        }
        handle = created
        return created
    }

    private func message(_ handle: UnsafeMutableRawPointer) -> String {
        oneLine(String(cString: tjGetErrorStr2(handle)))
    }
}
