import LavitKernels
import Testing

@Suite struct GemmTests {
    /// Worked by hand: acc = w . x + b, then y = z_out + RS(acc m, s) saturated.
    /// Channel 0 scales by 1/2 (m = 2^30, s = 31), channel 1 by 1/4, channel 2 by 2^10 to saturate.
    let layer = GemmBuffers(
        weights: [1, 0, -1, 2, 3, 4, 127, 127, 127], bias: [11, -7, 0],
        multiplier: [1 << 30, 1 << 30, 1 << 30], shift: [31, 32, 20], zeroPoint: 3)

    @Test func fusedBiasRequantizeAndSaturate() {
        // Rows of depth 3 at stride 4; the 99s are padding the kernel must not read.
        let x = Buffer<Int8>([1, 2, 3, 99, -4, 5, -6, 99])
        let y = Buffer<Int8>(repeating: 42, count: 8)
        ScalarKernels.gemm(x.read, rows: 2, stride: 4, layer.parameters, into: y.pointer, stride: 4)
        // Row 0: acc = [1 - 3 + 11, 2 + 6 + 12 - 7, 762] = [9, 13, 762]
        //   -> 3 + [RS(9/2) = 5 (tie up), RS(13/4) = 3, saturated] = [8, 6, 127].
        // Row 1: acc = [-4 + 6 + 11, -8 + 15 - 24 - 7, -635] = [13, -24, -635]
        //   -> 3 + [7 (6.5 up), -6, saturated] = [10, -3, -128].
        #expect(y.array == [8, 6, 127, 42, 10, -3, -128, 42])
    }

    @Test func scalarSharesAreTheirOwnGemms() {
        let x = Buffer<Int8>([1, 2, 3, -4, 5, -6])
        let direct = Buffer<Int8>(repeating: 0, count: 6)
        let shares = Buffer<Int8>(repeating: 0, count: 6)
        ScalarKernels.gemm(x.read, rows: 2, stride: 3, layer.parameters, into: direct.pointer, stride: 3)
        for outputs in [0..<1, 1..<3] {
            Kernels.scalar.gemm(x.read, rows: 2, stride: 3, layer.parameters, outputs: outputs, into: shares.pointer, stride: 3, scratch: nil)
        }
        #expect(direct.array == shares.array)
        #expect(direct.array == [8, 6, 127, 10, -3, -128])
    }

    @Test func gemm32HasNoZeroPointAndSaturatesToInt32() {
        let head = GemmBuffers(
            weights: [100, 0, 0, 0, 0, 0, 1, 1, 1], bias: [5, -3, 0], multiplier: [1 << 30, 1 << 30, 1 << 30],
            shift: [1, 31, 30], zeroPoint: 77)
        let x = Buffer<Int8>([1, 2, 3])
        let y = Buffer<Int32>(repeating: 0, count: 3)
        ScalarKernels.gemm32(x.read, rows: 1, stride: 3, head.parameters, into: y.pointer, stride: 3)
        // acc = [105, -3, 6]: 105 * 2^29 saturates; -3 / 2 = -1.5 rounds up to -1; 6 * 1 = 6.
        #expect(y.array == [Int32.max, -1, 6])
    }

    @Test func outputSliceIsItsOwnGemm() {
        let x = Buffer<Int8>([1, 2, 3])
        let y = Buffer<Int8>(repeating: 0, count: 2)
        ScalarKernels.gemm(x.read, rows: 1, stride: 3, layer.parameters.outputs(1..<3), into: y.pointer, stride: 2)
        #expect(y.array == [6, 127])
    }
}
