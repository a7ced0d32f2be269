import Dispatch
import LavitFloat
import LavitModel
import Synchronization

/// Runs the float engine over calibration images and keeps, per tap, the exact range and a
/// bounded sample for `RangeSearch`.
///
/// Sampling: each image contributes the same `samplesPerTap / imageCount` values per tap (all of
/// them when the tap is smaller), drawn by a generator seeded from `seed`, the tap's name and the
/// image's index, and images are merged in index order. So the statistics depend only on the
/// images and the seed, not on the thread count, and memory stays at `samplesPerTap` floats per
/// tap (LaViT-T's 138 taps at 2^18: about 145 MB) however many images there are.
public struct Calibrator: Sendable {
    public let weights: Weights
    public var samplesPerTap: Int
    public var seed: UInt64
    /// Images run on this many threads; each has its own engine pass (the engine is stateless).
    public var threads: Int

    public init(weights: Weights, samplesPerTap: Int = 1 << 18, seed: UInt64 = 0x1A71_7C0D_E5CA_1E00, threads: Int = 2) {
        self.weights = weights
        self.samplesPerTap = max(1, samplesPerTap)
        self.seed = seed
        self.threads = max(1, threads)
    }

    /// Sites calibration skips: `attn.scores` repeats the last of `qk`, `ar_add` or `psi`, and
    /// softmax probabilities have the fixed scale 2^-15.
    static let skipped: Set<TapPoint.Site> = [.scores, .probabilities]

    /// `images` are preprocessed uint8 `(H, W, in_chans)` frames. `progress` runs on the calling
    /// thread once per finished image (the workers run on their own threads).
    public func calibrate(
        images: [[UInt8]], progress: () -> Void = {}
    ) throws(QuantizeError) -> CalibrationStatistics {
        guard !images.isEmpty else { throw .noCalibrationImages }
        let quota = max(1, samplesPerTap / images.count)
        let box = ResultBox(count: images.count)
        let finished = DispatchSemaphore(value: 0)
        let workers = min(threads, images.count)
        let group = DispatchGroup()
        for worker in 0..<workers {
            DispatchQueue.global().async(group: group) {
                for index in stride(from: worker, to: images.count, by: workers) {
                    let result = Result { () throws(QuantizeError) in
                        try observe(image: images[index], index: index, quota: quota)
                    }
                    box.results.withLock { $0[index] = result }
                    finished.signal()
                }
            }
        }
        for _ in images {
            finished.wait()
            progress()
        }
        group.wait()

        var taps: [String: TapStatistics] = [:]
        for result in box.results.withLock({ $0 }) {
            guard let result else { fatalError("calibration worker skipped an image") }
            for (name, stats) in try result.get() {
                if taps[name] == nil { taps[name] = stats } else { taps[name]?.merge(stats) }
            }
        }
        return CalibrationStatistics(taps: taps, imageCount: images.count)
    }

    /// One image's statistics in tap order.
    func observe(image: [UInt8], index: Int, quota: Int) throws(QuantizeError) -> [(String, TapStatistics)] {
        let input = try FloatInput.make(u8: image, config: weights.config, index: index)
        var out: [(String, TapStatistics)] = []
        let imageSeed = seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        do {
            _ = try FloatEngine(weights: weights).forward(input: input) { tap, tensor in
                guard !Self.skipped.contains(tap.site) else { return }
                let name = tap.description
                var rng = SplitMix64(seed: imageSeed ^ SplitMix64.hash(name))
                out.append((name, TapObserver.observe(tensor.data, quota: quota, rng: &rng)))
            }
        } catch {
            throw .floatEngine(error.description)
        }
        return out
    }
}

/// Per-image results, filled by the workers in any order and merged in image order.
private final class ResultBox: Sendable {
    let results: Mutex<[Result<[(String, TapStatistics)], QuantizeError>?]>

    init(count: Int) {
        results = Mutex(Array(repeating: nil, count: count))
    }
}
