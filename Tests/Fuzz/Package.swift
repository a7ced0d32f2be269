// swift-tools-version: 6.1
import PackageDescription

// libFuzzer harnesses for every reader of untrusted bytes. A package of its own, depending on the
// root, so that `swift test` never builds them: they only link with `-sanitize=fuzzer`, which
// supplies `main`. Build and run them with Tools/fuzz.sh.
let package = Package(
    name: "lavit-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "lavit", path: "../..")],
    targets: [
        .target(name: "FuzzDriver", path: "FuzzDriver"),
        .executableTarget(
            name: "FuzzModelFile", dependencies: ["FuzzDriver", .product(name: "LavitReaders", package: "lavit")],
            path: "FuzzModelFile"),
        .executableTarget(
            name: "FuzzTorch", dependencies: ["FuzzDriver", .product(name: "LavitReaders", package: "lavit")],
            path: "FuzzTorch"),
        .executableTarget(
            name: "FuzzSafetensors", dependencies: ["FuzzDriver", .product(name: "LavitReaders", package: "lavit")],
            path: "FuzzSafetensors"),
        .executableTarget(
            name: "FuzzImage", dependencies: ["FuzzDriver", .product(name: "LavitReaders", package: "lavit")],
            path: "FuzzImage"),
        .executableTarget(
            name: "FuzzClientCommand", dependencies: ["FuzzDriver", .product(name: "LavitReaders", package: "lavit")],
            path: "FuzzClientCommand"),
    ]
)
