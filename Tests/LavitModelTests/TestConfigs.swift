import LavitModel

/// A small config that exercises every part of MODEL.md: three stages, AR, spatial reduction in
/// two stages, LA blocks in two, more than one head.
let smallConfig = Config(
    name: "small", imageSize: [32, 32], numClasses: 10, patchSize: 4, embedDims: [16, 32, 48],
    depths: [2, 3, 2], numHeads: [1, 2, 3], numVA: [1, 2, 1], srRatios: [4, 2, 1], mlpRatios: [2, 2, 1])

/// `smallConfig` with one field changed.
func small(_ change: (inout Config) -> Void) -> Config {
    var c = smallConfig
    change(&c)
    return c
}
