import CLavitKernels

/// A weight GEMM laid out for one SIMD variant (`Kernels.prepare`): the C plan, pointing into
/// storage the preparer owns and keeps alive as long as the plan is used.
public struct PreparedGemm: @unchecked Sendable {
    var plan: lavit_gemm_plan
}

extension Kernels {
    /// Bytes `prepare` needs for `p` (0 for the scalar reference, which reads the file's layout).
    public func preparedByteCount(_ p: GemmParameters) -> Int {
        self == .scalar ? 0 : lavit_prepare_bytes(variantID, p.outputs, p.depth)
    }

    /// Lays `p`'s weights out for this variant in `storage` (`preparedByteCount(p)` bytes,
    /// `alignment`-aligned) and attaches the result to `p`.
    public func prepare(_ p: inout GemmParameters, storage: UnsafeMutableRawPointer) {
        precondition(self != .scalar && isSupported, "prepare needs a supported SIMD variant, not \(self)")
        var plan = lavit_gemm_plan()
        lavit_prepare(
            variantID, p.weights.baseAddress, p.depth, p.outputs, p.depth, p.bias.baseAddress,
            p.multiplier.baseAddress, p.shift.baseAddress, storage, &plan)
        plan.zero_point = Int32(p.zeroPoint)
        p.prepared = PreparedGemm(plan: plan)
    }

    /// Alignment of prepared storage and scratch.
    public static let alignment = Int(LAVIT_ALIGNMENT)
}
