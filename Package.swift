// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lavit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lavit-quantize", targets: ["lavit-quantize"]),
        .executable(name: "lavit-capture", targets: ["lavit-capture"]),
        .executable(name: "lavit-client", targets: ["lavit-client"]),
        .executable(name: "lavitd", targets: ["lavitd"]),
        // Every reader of untrusted bytes, for the libFuzzer harnesses in Tools/fuzz (a package of
        // their own, so `swift test` never builds them without the fuzzer runtime).
        .library(
            name: "LavitReaders",
            targets: [
                "LavitModel", "LavitChecksum", "LavitCheckpoint", "LavitModelFile", "LavitInt8", "LavitImage", "LavitPublisher",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Model description: config, geometry, parameter schema, cost. Knows no file formats.
        .target(name: "LavitModel"),
        // Float checkpoints (.safetensors, torch .pth) to named tensors; trusts nothing.
        .target(name: "LavitCheckpoint", dependencies: ["LavitModel", "LavitChecksum", "LavitModelFile", "LavitSystem"]),
        // Float32 forward pass: the reference the int8 engine is checked against.
        .target(name: "LavitFloat", dependencies: ["LavitModel"]),
        // The lavit-quantize commands, as a library so tests can reach them.
        .target(
            name: "LavitQuantizeCLI",
            dependencies: [
                "LavitModel", "LavitCheckpoint", "LavitFloat", "LavitQuantize", "LavitInt8", "LavitModelFile", "LavitText",
                "LavitImage", "LavitKernels", "LavitPipeline", "LavitSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "lavit-quantize", dependencies: ["LavitQuantizeCLI"]),
        // Frame or file to ranked labels: decode, preprocess, int8 engine, softmax, top-k. Shared by
        // lavitd and lavit-quantize, so the camera path and the offline path cannot drift apart.
        .target(name: "LavitPipeline", dependencies: ["LavitImage", "LavitInt8", "LavitKernels", "LavitModel", "LavitModelFile", "LavitSystem"]),
        // The int8 model file container: JSON metadata and named typed tensors; trusts nothing.
        .target(name: "LavitModelFile", dependencies: ["LavitChecksum", "LavitSystem", "LavitText"]),
        // Untrusted text made safe for one-line messages: one escaper for every program.
        .target(name: "LavitText"),
        // CRC-32 for zip entries and model files alike.
        .target(name: "LavitChecksum"),
        // JPEG through the TurboJPEG API and PNG through libpng behind a setjmp-confining shim, so
        // no C longjmp crosses a Swift frame.
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Image decoding, YUYV conversion and the integer preprocessing the quantizer and the
        // daemon share.
        .target(name: "LavitImage", dependencies: ["CTurboJPEG", "CPNG", "LavitModel", "LavitSystem"]),
        // The one system-call layer: EINTR retried, errno typed, and the seam where tests put a
        // fake camera or inject failures.
        .target(name: "LavitSystem", dependencies: ["CSystemShims"]),
        // libv4l2, accept4 and the V4L2 constants Swift cannot see (variadic calls, macros).
        .systemLibrary(name: "CSystemShims", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        // Frame sources: V4L2 cameras (freshest frame, reopen on failure) and image files.
        .target(name: "LavitCapture", dependencies: ["LavitSystem", "CSystemShims", "LavitImage"]),
        // The lavit-capture command, as a library so tests can run it against a fake camera.
        .target(
            name: "LavitCaptureCLI",
            dependencies: [
                "LavitCapture", "LavitImage", "LavitSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "lavit-capture", dependencies: ["LavitCaptureCLI"]),
        // Post-training quantization: calibration statistics and float weights to the int8 model
        // file of Tools/QUANT.md; the one place where floats become integers.
        .target(name: "LavitQuantize", dependencies: ["LavitModel", "LavitFloat", "LavitModelFile"]),
        // The integer kernels of Tools/QUANT.md: the scalar reference every faster variant must match,
        // and the table that picks a SIMD variant by CPU features.
        .target(name: "LavitKernels", dependencies: ["CLavitKernels"]),
        // SIMD variants of the heavy kernels in C, each behind per-function target attributes and
        // chosen at run time, so one binary runs on any CPU of its architecture.
        .target(name: "CLavitKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The int8 engine: model file in, int32 logits out, integers only, no allocation per inference.
        .target(name: "LavitInt8", dependencies: ["LavitKernels", "LavitModel", "LavitModelFile", "LavitSystem", "LavitWorkers"]),
        // A fixed pool of threads that splits one job at a time, allocating nothing per job.
        .target(name: "LavitWorkers", dependencies: ["LavitSystem", "CSystemShims"]),

        // Predictions to local clients: newline-delimited JSON on a Unix socket, bounded per client,
        // encoded without allocating; one poll thread, no async runtime.
        .target(name: "LavitPublisher", dependencies: ["LavitSystem"]),
        // The lavit-client command, as a library so tests can reach it.
        .target(
            name: "LavitClient",
            dependencies: ["LavitSystem", "LavitText", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "lavit-client", dependencies: ["LavitClient"]),
        // Benchmark driver for Tools/bench_engine.py: one engine configuration per process, timed
        // on command, heap allocations counted by the test suite's malloc counter.
        .executableTarget(
            name: "lavit-bench",
            dependencies: ["LavitInt8", "LavitKernels", "LavitFloat", "LavitCheckpoint", "LavitModel", "LavitModelFile", "CAllocationCounter"],
            path: "Tools/lavit-bench"),

        .testTarget(name: "LavitModelTests", dependencies: ["LavitModel"]),
        .testTarget(name: "LavitPublisherTests", dependencies: ["LavitPublisher", "LavitSystem", "CAllocationCounter"]),
        .testTarget(name: "LavitClientTests", dependencies: ["LavitClient", "LavitPublisher", "LavitSystem"]),
        .testTarget(name: "LavitCheckpointTests", dependencies: ["LavitTestSupport", "LavitCheckpoint", "LavitChecksum", "LavitModel"]),
        .testTarget(name: "LavitChecksumTests", dependencies: ["LavitTestSupport", "LavitChecksum"]),
        .testTarget(name: "LavitFloatTests", dependencies: ["LavitFloat", "LavitCheckpoint", "LavitModel"]),
        .testTarget(
            name: "LavitQuantizeCLITests",
            dependencies: [
                "LavitQuantizeCLI", "LavitCheckpoint", "LavitInt8", "LavitModel", "LavitModelFile", "LavitPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "LavitModelFileTests", dependencies: ["LavitTestSupport", "LavitModelFile", "LavitChecksum"]),
        .testTarget(
            name: "LavitQuantizeTests",
            dependencies: ["LavitTestSupport", "LavitQuantize", "LavitCheckpoint", "LavitFloat", "LavitInt8", "LavitModel", "LavitModelFile"]),
        .testTarget(name: "LavitImageTests", dependencies: ["LavitTestSupport", "LavitImage", "CAllocationCounter"]),
        // lavitd as a library: configuration, log, metrics and the composition of source,
        // classifier and publisher, so tests reach all of it.
        .target(name: "LavitDaemon", dependencies: ["LavitSystem", "LavitCapture", "LavitImage", "LavitKernels", "LavitPipeline", "LavitPublisher", "LavitText"]),
        .executableTarget(name: "lavitd", dependencies: ["LavitDaemon"]),
        .testTarget(
            name: "LavitDaemonTests",
            dependencies: [
                "LavitDaemon", "LavitSystem", "LavitCapture", "LavitPublisher", "LavitClient", "LavitPipeline", "LavitImage",
                "LavitTestSupport", "CAllocationCounter", "LavitFakes",
            ]),
        .testTarget(name: "LavitWorkersTests", dependencies: ["LavitWorkers", "CAllocationCounter"]),
        .testTarget(name: "LavitKernelsTests", dependencies: ["LavitTestSupport", "LavitKernels"]),
        .testTarget(
            name: "LavitPipelineTests",
            dependencies: [
                "LavitPipeline", "LavitImage", "LavitInt8", "LavitKernels", "LavitModelFile", "LavitTestSupport", "CAllocationCounter",
                "CTurboJPEG",
            ]),
        // Test-only: a V4L2 driver emulated at the ioctl level, for capture and daemon tests.
        .target(name: "LavitFakes", dependencies: ["CSystemShims", "LavitSystem"], path: "Tests/LavitFakes"),
        // Test-only: seeded random data shared by the test targets.
        .target(name: "LavitTestSupport", path: "Tests/LavitTestSupport"),
        // Test-only: counts this thread's malloc calls, so tests can prove a path allocates nothing.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "LavitInt8Tests",
            dependencies: ["LavitTestSupport", "LavitInt8", "LavitKernels", "LavitModel", "LavitModelFile", "CAllocationCounter"]),
        .testTarget(
            name: "LavitCaptureTests",
            dependencies: ["LavitCapture", "LavitCaptureCLI", "LavitSystem", "LavitImage", "CSystemShims", "CAllocationCounter", "LavitFakes"]),
    ]
)
