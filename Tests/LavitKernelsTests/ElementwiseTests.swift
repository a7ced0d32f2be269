import LavitKernels
import Testing

@Suite struct ElementwiseTests {
    @Test func add2WithZeroPointsAndSharedShift() {
        // y = z_out + RS((a - 3) 2^30 + (b + 4) 2^29, 31) = z_out + round((a - 3) / 2 + (b + 4) / 4).
        let p = Add2Parameters(zeroA: 3, zeroB: -4, zeroOut: -10, multiplierA: 1 << 30, multiplierB: 1 << 29, shift: 31)
        let a = Buffer<Int8>([3, 4, 5, 127, -128, 0])
        let b = Buffer<Int8>([-4, -4, -2, 127, -128, -5])
        let y = Buffer<Int8>(repeating: 0, count: 6)
        ScalarKernels.add2(a.read, b.read, p, into: y.pointer)
        // [0, 0.5 -> 1, 1 + 0.5 = 1.5 -> 2, 62 + 32.75 = 94.75 -> 95, -65.5 - 31 = -96.5 -> -96, -1.5 - 0.25 = -1.75 -> -2]
        #expect(y.array == [-10, -9, -8, 85, -106, -12])
        // In place, as the residual adds use it.
        ScalarKernels.add2(a.read, b.read, p, into: a.pointer)
        #expect(a.array == y.array)
    }

    @Test func add2Saturates() {
        let p = Add2Parameters(zeroA: 0, zeroB: 0, zeroOut: 0, multiplierA: (1 << 31) - 1, multiplierB: (1 << 31) - 1, shift: 30)
        let a = Buffer<Int8>([100, -100])
        let y = Buffer<Int8>(repeating: 0, count: 2)
        ScalarKernels.add2(a.read, a.read, p, into: y.pointer)
        #expect(y.array == [127, -128])
    }

    @Test func geluIsATableLookupAtXPlus128() {
        let table = Buffer<Int8>((0..<256).map { Int8(truncatingIfNeeded: 255 - $0) })
        let x = Buffer<Int8>([-128, -1, 0, 127])
        ScalarKernels.gelu(x.read, table: table.read, into: x.pointer)
        #expect(x.array == [-1, -128, 127, 0])
    }

    @Test func meanPoolFoldsTheMeanIntoTheMultiplier() {
        // 4 rows: acc_c = sum (x - z_in), y = z_out + RS(acc 2^30, 33) = z_out + round(acc / 8).
        let x = Buffer<Int8>([1, 10, 3, 10, 5, 10, 7, -127])
        let p = MeanPoolParameters(zeroIn: 1, multiplier: 1 << 30, shift: 33, zeroOut: 2)
        let y = Buffer<Int8>(repeating: 0, count: 2)
        ScalarKernels.meanPool(x.read, rows: 4, p, into: y.pointer)
        // acc = [0 + 2 + 4 + 6, 9 + 9 + 9 - 128] = [12, -101] -> [1.5 -> 2, -12.625 -> -13]
        #expect(y.array == [4, -11])
    }
}
