import Testing

@testable import LavitInt8

/// Scales a JSON document cannot spell (the model-file syntax refuses NaN and Infinity) still meet
/// the same check, should another path ever produce them.
@Suite struct LogitScaleTests {
    @Test(arguments: [Double.nan, .infinity, -.infinity, 0, -1, 1e308, .leastNonzeroMagnitude])
    func unusableScalesAreRefused(scale: Double) {
        #expect(Int8Metadata.logitScaleProblem(scale) != nil)
    }

    @Test(arguments: [1e-9, 1.0 / 0x1p20, 1, Int8Metadata.maxLogitScale])
    func usableScalesPass(scale: Double) {
        #expect(Int8Metadata.logitScaleProblem(scale) == nil)
    }
}
