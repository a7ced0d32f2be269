import LavitImage

/// The sizes a device offers for one format, from VIDIOC_ENUM_FRAMESIZES, already clipped to
/// what lavit can hold (`ImageLimits.maxSide`).
enum OfferedSizes: Equatable {
    case discrete([Size])
    /// Every size from `min` to `max` in steps (a continuous range has step 1).
    case range(min: Size, max: Size, step: Size)
    /// The driver does not enumerate sizes; S_FMT will say what it does.
    case unknown

    struct Size: Equatable, CustomStringConvertible {
        var width: Int
        var height: Int
        var area: Int { width * height }
        var description: String { "\(width)x\(height)" }
    }

    var description: String {
        switch self {
        case let .discrete(sizes): sizes.map(\.description).joined(separator: ", ")
        case let .range(min, max, step): "\(min) to \(max) in steps of \(step)"
        case .unknown: "not listed by the driver"
        }
    }

    /// The size to ask S_FMT for, or nil when an explicit size is not offered.
    func choose(_ request: FrameSize) -> Size? {
        switch (self, request) {
        case let (.discrete(sizes), .atLeast(width, height)):
            let large = sizes.filter { $0.width >= width && $0.height >= height }
            if let best = large.min(by: { ($0.area, $0.width) < ($1.area, $1.width) }) { return best }
            return sizes.max { ($0.area, $0.width) < ($1.area, $1.width) }
        case let (.discrete(sizes), .exactly(width, height)):
            return sizes.first { $0.width == width && $0.height == height }
        case let (.range(min, max, step), .atLeast(width, height)):
            return Size(
                width: Self.roundUp(width, min: min.width, max: max.width, step: step.width),
                height: Self.roundUp(height, min: min.height, max: max.height, step: step.height))
        case let (.range(min, max, step), .exactly(width, height)):
            let fits = { (value: Int, low: Int, high: Int, step: Int) in value >= low && value <= high && (value - low) % step == 0 }
            guard fits(width, min.width, max.width, step.width), fits(height, min.height, max.height, step.height) else { return nil }
            return Size(width: width, height: height)
        case let (.unknown, .atLeast(width, height)), let (.unknown, .exactly(width, height)):
            return Size(width: width, height: height)
        }
    }

    /// The smallest value on the grid `low + k * step` at least `value`, within `low...high`.
    /// All inputs are at most `ImageLimits.maxSide`, so nothing overflows.
    static func roundUp(_ value: Int, min low: Int, max high: Int, step: Int) -> Int {
        guard value > low else { return low }
        let steps = (value - low + step - 1) / step
        let rounded = low + steps * step
        if rounded <= high { return rounded }
        return low + (high - low) / step * step
    }

    /// The sizes of one VIDIOC_ENUM_FRAMESIZES entry list, dropping what no image may be.
    static func fromDriver(discrete: [(UInt32, UInt32)]) -> OfferedSizes {
        let sizes = discrete.compactMap { (w, h) -> Size? in
            guard w > 0, h > 0, w <= UInt32(ImageLimits.maxSide), h <= UInt32(ImageLimits.maxSide) else { return nil }
            return Size(width: Int(w), height: Int(h))
        }
        return sizes.isEmpty ? .unknown : .discrete(sizes)
    }

    static func fromDriver(
        minWidth: UInt32, maxWidth: UInt32, stepWidth: UInt32, minHeight: UInt32, maxHeight: UInt32, stepHeight: UInt32
    ) -> OfferedSizes {
        let limit = UInt32(ImageLimits.maxSide)
        let low = Size(width: Int(max(minWidth, 1)), height: Int(max(minHeight, 1)))
        let high = Size(width: Int(min(maxWidth, limit)), height: Int(min(maxHeight, limit)))
        guard low.width <= high.width, low.height <= high.height else { return .unknown }
        let step = Size(width: Int(min(max(stepWidth, 1), limit)), height: Int(min(max(stepHeight, 1), limit)))
        return .range(min: low, max: high, step: step)
    }
}

/// MJPEG first (small frames, decoded at a fraction of the USB bandwidth), then YUYV.
func preferredFormat(_ offered: [PixelFormat]) -> PixelFormat? {
    offered.first(where: \.isJPEG) ?? offered.first { $0 == .yuyv }
}
