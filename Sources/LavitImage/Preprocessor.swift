import LavitModel

/// The one preprocessing of lavit: calibration images and camera frames both go through it, so
/// the quantizer calibrates on exactly what the daemon will feed the model. Integer arithmetic
/// only, deterministic, and defined here precisely enough to be reproduced bit for bit
/// (`Tools/make_image_fixtures.py` does, and the tests compare):
///
/// 1. **Centre crop** to the model's aspect ratio, the largest centred rectangle that has it.
///    For a source `W x H` and a model input `w x h`: if `W * h > H * w` (source wider),
///    `ch = H`, `cw = max(1, H * w / h)`; otherwise `cw = W`, `ch = max(1, W * h / w)`. The crop
///    starts at `x0 = (W - cw) / 2`, `y0 = (H - ch) / 2`. (`/` is floor division throughout;
///    every operand is non-negative.)
/// 2. **Resize** the crop to `w x h`, each axis on its own. Output sample `i` of an axis going
///    from `s` source samples to `d` is the mean of the source over an interval, measured in
///    integer units: source sample `j` is the cell `[j * u, (j + 1) * u)` and output `i` reads
///    `[lo, lo + T)`, with weight `wt(j) = min(lo + T, (j + 1) * u) - max(lo, j * u)` for `j`
///    from `lo / u` to `(lo + T - 1) / u`; the weights sum to `T`.
///    - `s >= d`, **area average** (box filter): `u = d`, `T = s`, `lo = i * s`. Output `i`
///      covers source pixels `[i s / d, (i + 1) s / d)` exactly, partial pixels weighted by the
///      part covered. `s == d` is the identity.
///    - `s < d`, **bilinear** with pixel centres aligned (source position `(i + 1/2) s / d - 1/2`):
///      `u = 2 d`, `T = 2 d`, `lo = min(max((2 i + 1) s - d, 0), (s - 1) * 2 d)`. A one-pixel box
///      at that position gives weights `1 - frac` and `frac` to the two neighbours; the clamp
///      repeats the edge pixels.
///
///    Each output channel value is
///    `(sum over jy, jx of wt_y(jy) * wt_x(jx) * P[y0 + jy][x0 + jx][c] + T / 2) / T`
///    with `T = T_x * T_y`: the exact weighted mean, rounded half up, rounded once.
/// 3. **Luma**, for one channel: `Y = (77 R + 150 G + 29 B + 128) >> 8` of the resized R, G, B
///    (BT.601 weights in 8-bit fixed point; they sum to 256, so grey stays exactly grey).
///
/// Output is HWC `UInt8`. A call writes into a buffer the caller owns and allocates nothing, so
/// the daemon can reuse one buffer for every frame.
public struct Preprocessor: Sendable, Equatable {
    public let height: Int
    public let width: Int
    /// 1 (luma) or 3 (RGB).
    public let channels: Int

    public init(height: Int, width: Int, channels: Int) {
        precondition(height > 0 && width > 0, "Preprocessor output size must be positive")
        precondition(height <= ImageLimits.maxSide && width <= ImageLimits.maxSide, "Preprocessor output too large")
        precondition(Config.Limits.inputChannels.contains(channels), "Preprocessor channels must be 1 or 3")
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Bytes one output takes: `height * width * channels`.
    public var outputCount: Int { height * width * channels }

    /// The part of a `sourceWidth x sourceHeight` image that is kept (step 1).
    public func crop(sourceWidth: Int, sourceHeight: Int) -> CropRect {
        let cw: Int
        let ch: Int
        if sourceWidth * height > sourceHeight * width {
            ch = sourceHeight
            cw = max(1, sourceHeight * width / height)
        } else {
            cw = sourceWidth
            ch = max(1, sourceWidth * height / width)
        }
        return CropRect(x: (sourceWidth - cw) / 2, y: (sourceHeight - ch) / 2, width: cw, height: ch)
    }

    /// Writes the model input for `image` into `out`, which must hold exactly `outputCount` bytes.
    public func callAsFunction(_ image: RGBImage, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count == outputCount, "Preprocessor output buffer must hold outputCount bytes")
        image.pixels.withUnsafeBufferPointer { source in
            run(source, sourceWidth: image.width, sourceHeight: image.height, into: out)
        }
    }

    /// Same, into an array that is sized to `outputCount` on first use and reused after, so
    /// repeated calls keep its storage.
    public func callAsFunction(_ image: RGBImage, into out: inout [UInt8]) {
        if out.count != outputCount { out = [UInt8](repeating: 0, count: outputCount) }
        out.withUnsafeMutableBufferPointer { self(image, into: $0) }
    }

    func run(
        _ source: UnsafeBufferPointer<UInt8>, sourceWidth: Int, sourceHeight: Int,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        let rect = crop(sourceWidth: sourceWidth, sourceHeight: sourceHeight)
        let rowStride = sourceWidth * 3
        if rect.width == width && rect.height == height {
            for y in 0..<height {
                let from = (rect.y + y) * rowStride + rect.x * 3
                for x in 0..<width {
                    let p = from + 3 * x
                    store(source[p], source[p + 1], source[p + 2], to: out, pixel: y * width + x)
                }
            }
            return
        }
        let axisX = ResizeAxis(source: rect.width, target: width)
        let axisY = ResizeAxis(source: rect.height, target: height)
        let total = axisX.total * axisY.total
        let half = total / 2
        for oy in 0..<height {
            let spanY = axisY.span(oy)
            for ox in 0..<width {
                let spanX = axisX.span(ox)
                var r = 0
                var g = 0
                var b = 0
                for jy in spanY.first...spanY.last {
                    let rowStart = (rect.y + jy) * rowStride + rect.x * 3
                    var rowR = 0
                    var rowG = 0
                    var rowB = 0
                    for jx in spanX.first...spanX.last {
                        let weight = axisX.weight(spanX, jx)
                        let p = rowStart + 3 * jx
                        rowR += weight * Int(source[p])
                        rowG += weight * Int(source[p + 1])
                        rowB += weight * Int(source[p + 2])
                    }
                    let weight = axisY.weight(spanY, jy)
                    r += weight * rowR
                    g += weight * rowG
                    b += weight * rowB
                }
                store(
                    UInt8((r + half) / total), UInt8((g + half) / total), UInt8((b + half) / total),
                    to: out, pixel: oy * width + ox)
            }
        }
    }

    @inline(__always)
    func store(_ r: UInt8, _ g: UInt8, _ b: UInt8, to out: UnsafeMutableBufferPointer<UInt8>, pixel: Int) {
        if channels == 1 {
            out[pixel] = Self.luma(r, g, b)
        } else {
            out[3 * pixel] = r
            out[3 * pixel + 1] = g
            out[3 * pixel + 2] = b
        }
    }

    /// `(77 R + 150 G + 29 B + 128) >> 8`, step 3.
    @inline(__always)
    public static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        let sum: Int = 77 * Int(r) + 150 * Int(g) + 29 * Int(b)
        return UInt8((sum + 128) >> 8)
    }
}

/// A rectangle of source pixels.
public struct CropRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height) at (\(x), \(y))" }
}
