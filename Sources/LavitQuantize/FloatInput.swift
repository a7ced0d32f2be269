import LavitModel

/// The float view of exactly what the int8 engine sees: a preprocessed uint8 `(H, W, in_chans)`
/// frame, normalised as the model was trained, `(u / 255 - mean_c) / std_c` in `(C, H, W)`.
public enum FloatInput {
    public static func make(u8: [UInt8], config: Config) throws(QuantizeError) -> Tensor {
        do { _ = try config.stageGeometry() } catch { throw .invalidConfig(error.description) }
        return try make(u8: u8, config: config, index: 0)
    }

    /// For a config already validated (the calibrator's, from `Weights`).
    static func make(u8: [UInt8], config: Config, index: Int) throws(QuantizeError) -> Tensor {
        let (c, h, w) = (config.inChans, config.imageSize[0], config.imageSize[1])
        let plane = h * w
        guard u8.count == plane * c else { throw .imageSize(index: index, got: u8.count, expected: plane * c) }
        var data = [Float](repeating: 0, count: plane * c)
        for ch in 0..<c {
            let (mean, std) = (config.inputMean[ch], config.inputStd[ch])
            // One table per channel: the same Double formula for every pixel, rounded to Float once.
            let table = (0..<256).map { Float((Double($0) / 255 - mean) / std) }
            for p in 0..<plane { data[ch * plane + p] = table[Int(u8[p * c + ch])] }
        }
        return Tensor(shape: [c, h, w], data: data)
    }
}
