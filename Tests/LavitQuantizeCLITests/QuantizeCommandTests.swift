import LavitCheckpoint
import LavitInt8
import LavitModel
import LavitModelFile
import LavitPipeline
import Testing

@testable import LavitQuantizeCLI

/// A scratch folder with the given fixture images copied in.
private func folder(_ images: [String]) throws -> String {
    let dir = "/tmp/lavit-cli-\(UInt64.random(in: 0...UInt64.max))"
    try makeDirectory(dir)
    for name in images {
        try copyFile(fixtures + "images/" + name, to: dir + "/" + name)
    }
    return dir
}

private let goodImages = [
    "jpeg_420_37x29.jpg", "jpeg_444_33x21.jpg", "png_rgb8_37x23.png", "fashion_28x28.png", "png_gray8_29x17.png",
]

@Test func quantizeWritesAModelTheEngineAccepts() throws {
    let calibration = try folder(goodImages + ["truncated.jpg"])
    let output = calibration + "/multi.lvt"
    try Quantize.parse([
        fixtures + "golden/multi/model.safetensors", "--calibration", calibration, "-o", output, "--threads", "1",
    ]).run()
    let engine = try Int8Engine(modelFile: ModelFile.load(path: output))
    #expect(engine.model.config.name == "multi")
    #expect(engine.model.labels == (0..<10).map { "class\($0)" })
    #expect(try Verify.parse([output]).report().contains(": ok ("))
}

@Test func noReadableCalibrationImageIsOneError() throws {
    let calibration = try folder(["truncated.jpg", "empty.jpg"])
    #expect {
        try Quantize.parse([
            fixtures + "golden/multi/model.safetensors", "--calibration", calibration, "-o", calibration + "/x.lvt",
        ]).run()
    } throws: { error in
        "\(error)".contains("no calibration image could be read")
    }
}

@Test func labelsFileMustMatchTheClassCount() throws {
    let calibration = try folder(goodImages)
    try writeText("a\nb\n", to: calibration + "/labels.txt")
    #expect {
        try Quantize.parse([
            fixtures + "golden/multi/model.safetensors", "--calibration", calibration, "-o", calibration + "/x.lvt",
            "--labels", calibration + "/labels.txt",
        ]).run()
    } throws: { error in
        "\(error)".contains("2 labels, the model has 10 classes")
    }
}

@Test func verifyNamesWhatIsWrongWithATruncatedModel() throws {
    let dir = try folder([])
    let bytes = try readBytes(fixtures + "int8/multi/model.lvt")
    try writeBytes(Array(bytes.prefix(bytes.count / 2)), to: dir + "/cut.lvt")
    #expect {
        try Verify.parse([dir + "/cut.lvt"]).report()
    } throws: { error in
        let text = "\(error)"
        return text.contains("cut.lvt") && !text.contains("\n")
    }
    #expect(try Verify.parse([fixtures + "int8/multi/model.lvt"]).report().contains(": ok (multi"))
}

@Test func classifierRanksEveryLabel() throws {
    let classifier = try FrameClassifier(modelPath: fixtures + "int8/multi/model.lvt")
    let ranked = try classifier.classify(path: fixtures + "images/fashion_28x28.png")
    #expect(ranked.count == 10)
    #expect(Set(ranked.map(\.label)).count == 10)
    let total = ranked.reduce(0) { $0 + $1.probability }
    #expect(abs(total - 1) < 1e-9)
    #expect(zip(ranked, ranked.dropFirst()).allSatisfy { $0.probability >= $1.probability })
}

@Test func imageFolderLabelsComeFromFolderNames() {
    let labels = ["T-shirt/top", "Trouser"].map(ImageFolder.folderName)
    #expect(ImageFolder.classIndex(folder: "1_Trouser", labels: labels) == 1)
    #expect(ImageFolder.classIndex(folder: "T-shirt_top", labels: labels) == 0)
    #expect(ImageFolder.classIndex(folder: "7_Sneaker", labels: labels) == nil)
    #expect(ImageFolder.classIndex(folder: "misc", labels: labels) == nil)
    #expect(ImageFolder.spread(Array(0..<10), count: 3) == [0, 3, 6])
}

/// The report's per-layer SQNR reads every int8 tap at the scale the model file records for it,
/// the int16 probabilities included: a tap read at the wrong scale shows as noise louder than the
/// signal, so every layer must come out well above 0 dB.
@Test func everyLayerIsComparedAtItsRecordedScale() throws {
    let calibration = try folder(goodImages)
    let output = calibration + "/multi.lvt"
    let checkpoint = fixtures + "golden/multi/model.safetensors"
    try Quantize.parse([checkpoint, "--calibration", calibration, "-o", output, "--threads", "1"]).run()
    let ckpt = try Checkpoint.load(path: checkpoint)
    let config = try #require(ckpt.config)
    let weights = try Weights(config: config, tensors: ckpt.tensors)
    let file = try ModelFile.load(path: output)
    let entries = goodImages.map { ImageFolder.Entry(path: calibration + "/" + $0, label: nil) }
    let result = try Evaluator.run(weights: weights, modelFile: file, entries: entries, sqnrImages: entries.count, threads: 1)
    let softmax = result.tapOrder.filter { $0.hasSuffix("attn.softmax") }
    #expect(softmax.count == config.depths.reduce(0, +))
    for name in result.tapOrder {
        let sqnr = try #require(result.sqnr(name), "\(name) has no SQNR")
        #expect(sqnr > 10, "\(name): \(sqnr) dB")
    }
}

/// The model the project ships loads with this engine (a change to QUANT.md that forgets to
/// rebuild it fails here) and gets the first Fashion-MNIST test image, an ankle boot, right.
@Test func shippedModelLoadsAndClassifies() throws {
    let model = fixtures + "../../Tools/models/lavit-fashion.lvt"
    #expect(try Verify.parse([model]).report().contains(": ok ("))
    let ranked = try FrameClassifier(modelPath: model).classify(path: fixtures + "images/fashion_28x28.png")
    #expect(ranked.first?.label == "Ankle boot")
}

@Test func classifyLinesAreAligned() {
    let text = Classify.render(path: "a.png", ranked: [("Ankle boot", 0.895), ("Sneaker", 0.033), ("Bag", 0.0004)])
    #expect(text == """
        a.png
          1.  Ankle boot   89.5%
          2.  Sneaker       3.3%
          3.  Bag           0.0%

        """)
}
