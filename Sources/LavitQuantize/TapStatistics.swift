/// What calibration keeps of one tap over all images: the exact range and a bounded sample.
public struct TapStatistics: Sendable, Equatable {
    public var min: Float
    public var max: Float
    /// Elements observed over all images.
    public var count: Int
    /// At most the calibrator's cap, drawn evenly from every image (see `Calibrator`).
    public var sample: [Float]
    /// False once any observed value was NaN or infinite.
    public var finite: Bool

    public init(min: Float, max: Float, count: Int, sample: [Float], finite: Bool = true) {
        self.min = min
        self.max = max
        self.count = count
        self.sample = sample
        self.finite = finite
    }

    public var maxAbs: Float { Swift.max(abs(min), abs(max)) }

    /// Appends another image's statistics of the same tap.
    mutating func merge(_ other: TapStatistics) {
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        count += other.count
        sample += other.sample
        finite = finite && other.finite
    }
}

/// Every tap's statistics, by QUANT.md layer name (`TapPoint.description`).
public struct CalibrationStatistics: Sendable {
    public var taps: [String: TapStatistics]
    public var imageCount: Int

    public init(taps: [String: TapStatistics], imageCount: Int) {
        self.taps = taps
        self.imageCount = imageCount
    }

    public subscript(tap: String) -> TapStatistics? { taps[tap] }
}
