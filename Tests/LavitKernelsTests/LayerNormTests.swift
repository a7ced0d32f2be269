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

    /// Row q = [1, -1, 1, -1] (x = [3, 1, 3, 1], z_in = 2): S = 0, D = [4, -4, 4, -4], V = 64,
    /// R = isqrt(64 + E) = 8 for E = 1, inv = 2^40 / 8 = 2^37, t = RS(±4 2^37, 25) = ±2^14, i.e.
    /// 2^15 D / sqrt(V). Then y = z_out + RS(t g + bb, shift).
    @Test func derivableRow() {
        let params = Parameters(g: [1, 2, 1, 1], bb: [0, 0, 1 << 10, -(3 << 9)], zIn: 2, e: 1, shift: 10, zOut: -5)
        let x = Buffer<Int8>([3, 1, 3, 1])
        let y = Buffer<Int8>(repeating: 0, count: 4)
        ScalarKernels.layerNorm(x.read, rows: 1, params.p, into: y.pointer)
        // t = [16384, -16384, 16384, -16384]; t g + bb = [16384, -32768, 17408, -17920];
        // RS(., 10) = [16, -32, 17, -17.5 -> -17]; + z_out.
        #expect(y.array == [11, -37, 12, -22])
    }

    /// E under the square root floors: V + E = 65 still gives R = 8; V + E = 81 gives R = 9.
    @Test func epsilonEntersTheFloorSquareRoot() {
        let x = Buffer<Int8>([3, 1, 3, 1])
        let y = Buffer<Int8>(repeating: 0, count: 4)
        let wide = Parameters(g: [1, 1, 1, 1], bb: [0, 0, 0, 0], zIn: 2, e: 17, shift: 10, zOut: 0)
        ScalarKernels.layerNorm(x.read, rows: 1, wide.p, into: y.pointer)
        // inv = floor(2^40 / 9) = 122167958641, t = RS(4 inv, 25) = 14564 (14563.56 rounds up),
        // RS(14564, 10) = 14 (14.22).
        #expect(y.array == [14, -14, 14, -14])
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
