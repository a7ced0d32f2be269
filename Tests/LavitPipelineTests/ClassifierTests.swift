import CAllocationCounter
import CTurboJPEG
import LavitImage
import LavitInt8
import LavitKernels
import LavitModelFile
import LavitPipeline
import LavitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

func readFixture(_ path: String) throws -> [UInt8] { try ImageDecoder.read(path: path) }

@Suite struct ClassifierTests {
    /// A 1280x720 frame for a 28x28 model decodes at 1/8 scale, for 224x224 at 3/8; PNG never scales.
    @Test(arguments: [(28, 160, 90), (224, 480, 270), (720, 1280, 720)])
    func jpegDecodesAtTheSmallestScaleThatCoversTheInput(side: Int, width: Int, height: Int) throws {
        let bytes = try readFixture(RepositoryPaths.photos[0])
        let decoder = ImageDecoder()
        var image = RGBImage(width: 1, height: 1)
        let preprocessor = Preprocessor(height: side, width: side, channels: 3)
        try bytes.withUnsafeBytes { raw in
            try Result { () throws(ImageError) in try decoder.decode(raw, into: &image, coverFor: preprocessor) }.get()
        }
        #expect((image.width, image.height) == (width, height))
        let crop = preprocessor.crop(sourceWidth: image.width, sourceHeight: image.height)
        #expect(crop.width >= side && crop.height >= side)
    }

    /// The pipeline's answer for a file is the engine's integer argmax on the preprocessed input.
    @Test func fileClassificationIsTheEngineArgmax() throws {
        let classifier = try FrameClassifier(modelPath: RepositoryPaths.shippedModel)
        let path = RepositoryPaths.fixtures + "/images/fashion_28x28.png"
        let ranked = try classifier.classify(path: path)
        #expect(ranked.count == 10)
        #expect(abs(ranked.map(\.probability).reduce(0, +) - 1) < 1e-9)

        let engine = try Int8Engine(modelFile: ModelFile.load(path: RepositoryPaths.shippedModel))
        let p = engine.model.preprocess
        var input: [UInt8] = []
        Preprocessor(height: p.height, width: p.width, channels: p.channels)(try ImageDecoder.decode(path: path), into: &input)
        let logits = try input.withUnsafeBufferPointer { Array(try engine.infer(image: $0)) }
        let argmax = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
        #expect(ranked[0].label == engine.model.labels[argmax])
    }

    /// The shipped model ranks a file the same with every kernel variant and thread count.
    @Test func everyKernelsAndThreadCountRankAlike() throws {
        let path = RepositoryPaths.fixtures + "/images/fashion_28x28.png"
        let reference = try FrameClassifier(modelPath: RepositoryPaths.shippedModel, kernels: .scalar).classify(path: path)
        for kernels in Kernels.available {
            for threads in [1, 2, 4] {
                let classifier = try FrameClassifier(modelPath: RepositoryPaths.shippedModel, kernels: kernels, threads: threads)
                #expect(classifier.engine.kernels == kernels && classifier.engine.threadCount == threads)
                let ranked = try classifier.classify(path: path)
                #expect(ranked.map(\.label) == reference.map(\.label) && ranked.map(\.probability) == reference.map(\.probability), "\(kernels) \(threads)")
            }
        }
    }

    @Test func badFramesAreErrorsNotCrashes() throws {
        let classifier = try FrameClassifier(modelPath: RepositoryPaths.shippedModel)
        var photo = try readFixture(RepositoryPaths.photos[1])
        photo.removeLast(photo.count / 2)
        let truncated = photo.withUnsafeBytes { raw in Result { () throws(ClassifierError) in try classifier.classify(.compressed(raw)) } }
        #expect(throws: ClassifierError.self) { try truncated.get() }
        // A torn transfer: zeros over the middle of a 1280x720 frame's scan. libjpeg-turbo notices
        // ("premature end of data segment") at the 1/8 scale the pipeline decodes at, as at full size.
        var torn = try readFixture(RepositoryPaths.photos[2])
        let middle = torn.count / 2
        torn.replaceSubrange(middle..<(middle + 4096), with: repeatElement(0, count: 4096))
        let tornResult = torn.withUnsafeBytes { raw in Result { () throws(ClassifierError) in try classifier.classify(.compressed(raw)) } }
        #expect(throws: ClassifierError.self) { try tornResult.get() }
        let short = [UInt8](repeating: 0x80, count: 10)
        let yuyv = short.withUnsafeBytes { raw in
            Result { () throws(ClassifierError) in try classifier.classify(.yuyv(raw, width: 640, height: 480, bytesPerLine: 1280)) }
        }
        #expect(throws: ClassifierError.self) { try yuyv.get() }
    }

    /// After warm-up a YUYV frame allocates nothing, and an MJPEG frame allocates exactly what a
    /// bare TurboJPEG decode of the same frame does: libjpeg's per-decode pools, all freed again.
    @Test func steadyStateFramesAllocateOnlyTurboJPEGsPools() throws {
        let classifier = try FrameClassifier(modelPath: RepositoryPaths.shippedModel)
        let jpeg = try readFixture(RepositoryPaths.photos[3])
        var yuyv = [UInt8](repeating: 0, count: 1280 * 720 * 2)
        for i in yuyv.indices { yuyv[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 7) }

        let (yuyvAllocations, jpegAllocations, jpegFrees) = try yuyv.withUnsafeBytes { y in
            try jpeg.withUnsafeBytes { j in
                let yFrame = FramePayload.yuyv(y, width: 1280, height: 720, bytesPerLine: 2560)
                let jFrame = FramePayload.compressed(j)
                // Warm each size before counting: a change of frame size resizes the RGB buffer.
                try classifier.classify(yFrame)
                lavit_alloc_count_reset()
                for _ in 0..<20 { try classifier.classify(yFrame) }
                let yuyvAllocations = lavit_alloc_count() + lavit_free_count()
                try classifier.classify(jFrame)
                lavit_alloc_count_reset()
                for _ in 0..<20 { try classifier.classify(jFrame) }
                return (yuyvAllocations, lavit_alloc_count(), lavit_free_count())
            }
        }
        #expect(yuyvAllocations == 0)

        // The same frame through TurboJPEG alone (header, then pixels at the scale the pipeline
        // picks, 160x90).
        let handle = try #require(tjInitDecompress())
        defer { tjDestroy(handle) }
        var out = [UInt8](repeating: 0, count: 160 * 90 * 3)
        func bareDecode() -> Int32 {
            jpeg.withUnsafeBufferPointer { j in
            var w: Int32 = 0, h: Int32 = 0, sub: Int32 = 0, space: Int32 = 0
            let header = tjDecompressHeader3(handle, j.baseAddress, UInt(j.count), &w, &h, &sub, &space)
            return header | out.withUnsafeMutableBufferPointer { o in
                tjDecompress2(handle, j.baseAddress, UInt(j.count), o.baseAddress, 160, 0, 90, Int32(TJPF_RGB.rawValue),
                              TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
            }
            }
        }
        _ = bareDecode()
        lavit_alloc_count_reset()
        let status = bareDecode()
        let bare = lavit_alloc_count()
        #expect(status == 0)
        #expect(bare > 0 && bare <= 24, "TurboJPEG allocated \(bare) blocks for one decode")
        #expect(jpegAllocations == 20 * bare, "pipeline: \(jpegAllocations) allocations in 20 frames; TurboJPEG alone: \(bare) per frame")
        #expect(jpegFrees == jpegAllocations)
    }
}
