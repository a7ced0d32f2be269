import LavitImage
import LavitInt8
import LavitModel

/// Frame or file to the model's uint8 input: decode, then the one `Preprocessor`. The daemon,
/// `classify`, calibration and evaluation all come through here, so the quantizer calibrates on
/// exactly what a camera feeds the model.
///
/// JPEG decodes at the smallest DCT scale whose centre crop still covers the input (a 1280x720
/// frame for a 28x28 model decodes at 160x90); entropy decoding still dominates, so this saves
/// about a third, not seven eighths. YUYV is converted in full. Buffers are reused: after the
/// first frame of a size, preparing allocates nothing but libjpeg's own per-decode pools.
/// Not thread-safe: one per thread.
public final class ModelInput {
    public let preprocessor: Preprocessor
    private let decoder = ImageDecoder()
    private var image = RGBImage(width: 1, height: 1)

    /// Refuses sizes the preprocessor cannot make, rather than trapping in it.
    public init(height: Int, width: Int, channels: Int) throws(PipelineError) {
        guard channels == 1 || channels == 3 else { throw .inputShape("\(channels) channels (1 or 3)") }
        guard (1...ImageLimits.maxSide).contains(height), (1...ImageLimits.maxSide).contains(width) else {
            throw .inputShape("\(width)x\(height) (each side 1 to \(ImageLimits.maxSide))")
        }
        preprocessor = Preprocessor(height: height, width: width, channels: channels)
    }

    public convenience init(config: Config) throws(PipelineError) {
        guard config.imageSize.count == 2 else { throw .inputShape("image_size has \(config.imageSize.count) entries") }
        try self.init(height: config.imageSize[0], width: config.imageSize[1], channels: config.inChans)
    }

    public convenience init(_ preprocess: Int8Preprocess) throws(PipelineError) {
        try self.init(height: preprocess.height, width: preprocess.width, channels: preprocess.channels)
    }

    /// Bytes of one model input.
    public var byteCount: Int { preprocessor.outputCount }

    /// Writes the model input for `payload` into `out` (`byteCount` bytes).
    public func prepare(_ payload: FramePayload, into out: UnsafeMutableBufferPointer<UInt8>) throws(ImageError) {
        switch payload {
        case let .compressed(bytes):
            try decoder.decode(bytes, into: &image, coverFor: preprocessor)
        case let .yuyv(bytes, width, height, bytesPerLine):
            try image.loadYUYV(bytes, width: width, height: height, bytesPerLine: bytesPerLine)
        }
        preprocessor(image, into: out)
    }

    /// The model input for an image file; errors name the file.
    public func prepare(path: String) throws(ImageError) -> [UInt8] {
        let bytes = try ImageDecoder.read(path: path)
        var out = [UInt8](repeating: 0, count: byteCount)
        do throws(ImageError) {
            try bytes.withUnsafeBytes { raw in
                Result { () throws(ImageError) in
                    try out.withUnsafeMutableBufferPointer { buffer in
                        Result { () throws(ImageError) in try prepare(.compressed(raw), into: buffer) }
                    }.get()
                }
            }.get()
        } catch {
            throw ImageError(file: path, error.reason)
        }
        return out
    }
}

/// Why the pipeline cannot serve a model.
public enum PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    case inputShape(String)

    public var description: String {
        switch self {
        case let .inputShape(detail): "model input cannot be prepared from an image: \(detail)"
        }
    }
}
