import LavitKernels
import Testing

@Suite struct LayoutTests {
    /// A 3x5 grid of 2 channels, value y 40 + x 8 + c; k = 2 keeps one row of two patches and
    /// drops the last row and column.
    @Test func patchifyOrdersChannelThenKernelRowThenColumn() {
        var grid: [Int8] = []
        for y in 0..<3 { for x in 0..<5 { for c in 0..<2 { grid.append(Int8(y * 40 + x * 8 + c)) } } }
        let x = Buffer(grid)
        let y = Buffer<Int8>(repeating: 0, count: 16)
        ScalarKernels.patchify(x.read, height: 3, width: 5, channels: 2, kernel: 2, into: y.pointer)
        #expect(y.array == [0, 8, 40, 48, 1, 9, 41, 49, 16, 24, 56, 64, 17, 25, 57, 65])
    }

    @Test func stemPatchifySubtracts128() {
        let image = Buffer<UInt8>([0, 128, 255, 1, 2, 3, 10, 20, 30, 200, 100, 50])
        let y = Buffer<Int8>(repeating: 0, count: 12)
        ScalarKernels.patchifyImage(image.read, height: 2, width: 2, channels: 3, kernel: 2, into: y.pointer)
        #expect(y.array == [-128, -127, -118, 72, 0, -126, -108, -28, 127, -125, -98, -78])
    }

    @Test func transposePerBatch() {
        let x = Buffer<Int8>([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let y = Buffer<Int8>(repeating: 0, count: 12)
        ScalarKernels.transpose(x.read, batches: 2, rows: 2, cols: 3, into: y.pointer)
        #expect(y.array == [1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12])
    }

    /// A 5x3 query grid halves to 2x1: the last row and the last column are never read. Scores
    /// encode their position, S[c, cell, j] = 50 c + 3 cell + j; m = 2^30, s = 30 is the identity.
    @Test func depthwiseConvOnAnOddGrid() {
        var scores: [Int8] = []
        for c in 0..<2 { for cell in 0..<15 { for j in 0..<2 { scores.append(Int8(50 * c + 3 * cell + j)) } } }
        let s = Buffer(scores)
        let u = Buffer<Int8>(repeating: 0, count: 8)
        let layer = DepthwiseBuffers(weights: [1, 0, 0, 0, 0, 0, 0, 1], bias: [0, -100], zeroPoint: -1)
        ScalarKernels.depthwiseConv2(s.read, height: 5, width: 3, keys: 2, layer.parameters, into: u.pointer)
        // Channel 0 takes the top-left cell of each 2x2 window: cells 0 and 6 (row 2, column 0).
        // Channel 1 the bottom-right: cells 4 (1, 1) and 10 (3, 1), plus bias -100.
        #expect(u.array == [-1, 0, 17, 18, -39, -38, -21, -20])

        let sum = DepthwiseBuffers(weights: [1, 1, 1, 1, 1, -1, 1, -1], bias: [0, 0], zeroPoint: 0)
        ScalarKernels.depthwiseConv2(s.read, height: 5, width: 3, keys: 2, sum.parameters, into: u.pointer)
        // Channel 0, window (0, 0): cells 0, 1, 3, 4 -> 3 (0 + 1 + 3 + 4) + 4 j = [24, 28];
        // window (1, 0): cells 6, 7, 9, 10 -> 96 + 4 j. Channel 1: columns minus columns: -6, -6.
        #expect(u.array == [24, 28, 96, 100, -6, -6, -6, -6])
    }

    final class DepthwiseBuffers {
        let w: Buffer<Int8>
        let b, m, s: Buffer<Int32>
        let parameters: DepthwiseConv2Parameters
        init(weights: [Int8], bias: [Int32], zeroPoint: Int64) {
            w = Buffer(weights)
            b = Buffer(bias)
            m = Buffer(Array(repeating: 1 << 30, count: bias.count))
            s = Buffer(Array(repeating: 30, count: bias.count))
            parameters = DepthwiseConv2Parameters(weights: w.read, bias: b.read, multiplier: m.read, shift: s.read, zeroPoint: zeroPoint)
        }
    }
}
