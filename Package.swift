// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lavit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lavit-quantize", targets: ["lavit-quantize"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Model description: config, geometry, parameter schema, cost. Knows no file formats.
        .target(name: "LavitModel"),
        // Float checkpoints (.safetensors, torch .pth) to named tensors; trusts nothing.
        .target(name: "LavitCheckpoint", dependencies: ["LavitModel"]),
        // Float32 forward pass: the reference the int8 engine is checked against.
        .target(name: "LavitFloat", dependencies: ["LavitModel"]),
        // The lavit-quantize commands, as a library so tests can reach them.
        .target(
            name: "LavitQuantizeCLI",
            dependencies: [
                "LavitModel", "LavitCheckpoint", "LavitFloat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "lavit-quantize", dependencies: ["LavitQuantizeCLI"]),
        // The int8 model file container: JSON metadata and named typed tensors; trusts nothing.
        .target(name: "LavitModelFile"),

        .testTarget(name: "LavitModelTests", dependencies: ["LavitModel"]),
        .testTarget(name: "LavitCheckpointTests", dependencies: ["LavitCheckpoint", "LavitModel"]),
        .testTarget(name: "LavitFloatTests", dependencies: ["LavitFloat", "LavitCheckpoint", "LavitModel"]),
        .testTarget(name: "LavitQuantizeCLITests", dependencies: ["LavitQuantizeCLI"]),
        .testTarget(name: "LavitModelFileTests", dependencies: ["LavitModelFile"]),
    ]
)
