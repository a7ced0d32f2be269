/// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B, no row padding:
/// `pixels.count == width * height * 3` always.
public struct RGBImage: Sendable, Equatable {
    public internal(set) var width: Int
    public internal(set) var height: Int
    public internal(set) var pixels: [UInt8]

    /// A black image.
    public init(width: Int, height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: max(width * height * 3, 0)))
    }

    /// `width` and `height` at least 1 and `pixels.count == width * height * 3`, or it traps.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage size must be positive")
        precondition(pixels.count == width * height * 3, "RGBImage needs width * height * 3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Changes the size, keeping the pixel storage when the byte count is unchanged or smaller
    /// than its capacity, so a decoder reusing one image for every frame does not allocate.
    /// Pixel values are unspecified afterwards.
    mutating func resize(width: Int, height: Int) {
        let count = width * height * 3
        if pixels.count != count {
            pixels.removeAll(keepingCapacity: true)
            pixels.append(contentsOf: repeatElement(0, count: count))
        }
        self.width = width
        self.height = height
    }
}
