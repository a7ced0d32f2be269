#if canImport(Glibc)
import Glibc
#endif

/// One heap block aligned for SIMD loads, holding a whole model file. Immutable once filled, which
/// is what makes sharing it across threads sound.
final class AlignedBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    /// Returns nil when memory is short; posix_memalign reports that, unlike `allocate`, which traps.
    init?(count: Int) {
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, Format.alignment, max(count, 1)) == 0, let pointer else { return nil }
        self.base = pointer
        self.count = count
    }

    deinit { free(base) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
