import LavitModel

/// Caps checked against the header before any pixel buffer exists, so a small file that claims a
/// huge image (a decompression bomb) is refused without allocating.
public enum ImageLimits {
    /// The config's image-side limit, so a config that validates always has a preprocessor.
    public static let maxSide = Config.Limits.imageSide
    /// 64 Mi pixels: 192 MiB of RGB.
    public static let maxPixels = 1 << 26
    /// Larger files are not images lavit should be reading.
    public static let maxFileBytes = 256 << 20

    static func check(width: Int, height: Int) throws(ImageError.Reason) {
        guard width > 0, height > 0, width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw .tooLarge(width: width, height: height)
        }
    }
}
