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
    /// `alignment`-aligned) and attaches the result to `p`. For a GEMM over patches (`patch`: the
    /// grid's channels and the patch side) the columns are also reordered from the file's
    /// (c, ky, kx) to the (ky, kx, c) that `patchify` writes for SIMD variants.
    public func prepare(_ p: inout GemmParameters, storage: UnsafeMutableRawPointer, patch: (channels: Int, kernel: Int)? = nil) {
        precondition(self != .scalar && isSupported, "prepare needs a supported SIMD variant, not \(self)")
        var plan = lavit_gemm_plan()
        func lay(_ weights: UnsafePointer<Int8>?) {
            lavit_prepare(
                variantID, weights, p.depth, p.outputs, p.depth, p.bias.baseAddress, p.multiplier.baseAddress,
                p.shift.baseAddress, storage, &plan)
        }
        if let (c, k) = patch {
            precondition(c * k * k == p.depth, "patch GEMM depth \(p.depth) is not \(c) x \(k) x \(k)")
            var reordered = [Int8](repeating: 0, count: p.outputs * p.depth)
            for o in 0..<p.outputs {
                for ky in 0..<k {
                    for kx in 0..<k {
                        for channel in 0..<c {
                            reordered[o * p.depth + (ky * k + kx) * c + channel] = p.weights[o * p.depth + (channel * k + ky) * k + kx]
                        }
                    }
                }
            }
            reordered.withUnsafeBufferPointer { lay($0.baseAddress) }
        } else {
            lay(p.weights.baseAddress)
        }
        plan.zero_point = Int32(p.zeroPoint)
        p.prepared = PreparedGemm(plan: plan)
    }

    /// Alignment of prepared storage and scratch.
    public static let alignment = Int(LAVIT_ALIGNMENT)
}
