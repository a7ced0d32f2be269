/// A heap buffer for kernel tests: kernels take raw buffer pointers, tests think in arrays.
final class Buffer<T> {
    let pointer: UnsafeMutableBufferPointer<T>

    init(_ values: [T]) {
        pointer = .allocate(capacity: values.count)
        _ = pointer.initialize(from: values)
    }

    convenience init(repeating value: T, count: Int) {
        self.init(Array(repeating: value, count: count))
    }

    deinit { pointer.deallocate() }

    var read: UnsafeBufferPointer<T> { UnsafeBufferPointer(pointer) }
    var array: [T] { Array(pointer) }
}

/// Parameters of a GEMM held in test buffers.
final class GemmBuffers {
    let w: Buffer<Int8>
    let b, m, s: Buffer<Int32>
    let parameters: GemmParameters

    init(weights: [Int8], bias: [Int32], multiplier: [Int32], shift: [Int32], zeroPoint: Int64 = 0) {
        w = Buffer(weights)
        b = Buffer(bias)
        m = Buffer(multiplier)
        s = Buffer(shift)
        parameters = GemmParameters(
            weights: w.read, bias: b.read, multiplier: m.read, shift: s.read, zeroPoint: zeroPoint,
            outputs: bias.count, depth: weights.count / bias.count)
    }
}

import LavitKernels
