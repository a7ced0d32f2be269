import LavitKernels
import Testing

@Suite struct LayerNormTests {
    final class Parameters {
        let g: Buffer<Int32>
        let bb: Buffer<Int64>
        let p: LayerNormParameters
        init(g: [Int32], bb: [Int64], zIn: Int64, e: Int64, shift: Int64, zOut: Int64) {
            self.g = Buffer(g)
            self.bb = Buffer(bb)
            p = LayerNormParameters(gain: self.g.read, bias: self.bb.read, zeroIn: zIn, epsilon: e, shift: shift, zeroOut: zOut)
        }
    }

    /// Row q = [1, -1, 1, -1] (x = [3, 1, 3, 1], z_in = 2): S = 0, D = [4, -4, 4, -4], V = 64 and
    /// with E = 17, W = 81: k = min(22, (62 - 7) / 2) = 22, R = isqrt(81 4^22) = 9 2^22 exactly,
    /// inv = floor(2^62 / R) = floor(2^40 / 9) = 122167958641, t = RS(±4 inv, 25) = ±14564
    /// (14563.56 rounds up), i.e. 2^15 D / sqrt(W). Then y = z_out + RS(t g + bb, shift).
    @Test func derivableRow() {
        let params = Parameters(g: [1, 2, 1, 1], bb: [0, 0, 1 << 10, -(3 << 9)], zIn: 2, e: 17, shift: 10, zOut: -5)
        let x = Buffer<Int8>([3, 1, 3, 1])
        let y = Buffer<Int8>(repeating: 0, count: 4)
        ScalarKernels.layerNorm(x.read, rows: 1, params.p, into: y.pointer)
        // t g + bb = [14564, -29128, 15588, -16100]; RS(., 10) = [14.2 -> 14, -28.4 -> -28,
        // 15.2 -> 15, -15.7 -> -16]; + z_out.
        #expect(y.array == [9, -33, 10, -21])
    }

    /// The root keeps fractional bits: W = 65 is not a square, and t = 2^15 4 / sqrt(65) =
    /// 16256.8 -> 16257 (a floor isqrt(65) = 8 would give 16384). With bb = ∓16200 and shift 4 the
    /// difference shows: RS(±57, 4) = ±4 where 16384 would give RS(±184, 4) = 12 and -11 (ties up).
    @Test func squareRootKeepsFractionalBits() {
        let x = Buffer<Int8>([3, 1, 3, 1])
        let y = Buffer<Int8>(repeating: 0, count: 4)
        let params = Parameters(g: [1, 1, 1, 1], bb: [-16200, 16200, -16200, 16200], zIn: 2, e: 1, shift: 4, zOut: 0)
        ScalarKernels.layerNorm(x.read, rows: 1, params.p, into: y.pointer)
        #expect(y.array == [4, -4, 4, -4])
    }

    /// k follows W's bit length: 22 fractional bits for small W, fewer as W grows, none from 2^61.
    @Test func rootBitsFollowTheBitLength() {
        #expect(layerNormRootBits(1) == 22 && layerNormRootBits(1 << 16) == 22)
        #expect(layerNormRootBits(1 << 20) == 20 && layerNormRootBits((1 << 21) - 1) == 20)
        #expect(layerNormRootBits(1 << 54) == 3 && layerNormRootBits(1 << 60) == 0 && layerNormRootBits(.max) == 0)
    }

    /// A constant row has D = 0 and leaves only the bias; in place works row by row.
    @Test func constantRowsAndInPlace() {
        let params = Parameters(g: [999, -999], bb: [5 << 10, -(7 << 10)], zIn: 0, e: 1, shift: 10, zOut: 1)
        let x = Buffer<Int8>([9, 9, -3, -3])
        ScalarKernels.layerNorm(x.read, rows: 2, params.p, into: x.pointer)
        #expect(x.array == [6, -6, 6, -6])
    }

    /// Saturation at both ends.
    @Test func saturates() {
        let params = Parameters(g: [1 << 30, 1 << 30], bb: [0, 0], zIn: 0, e: 1, shift: 20, zOut: 0)
        let x = Buffer<Int8>([100, -100])
        let y = Buffer<Int8>(repeating: 0, count: 2)
        ScalarKernels.layerNorm(x.read, rows: 1, params.p, into: y.pointer)
        #expect(y.array == [127, -128])
    }
}
