import CLavitKernels

/// Which implementation of the kernels an engine runs: the scalar reference or a SIMD variant of
/// `CLavitKernels`, chosen once by CPU features before a model is planned, because weights are
/// laid out for the variant at load. Every variant must agree with `.scalar` bit for bit. The
/// variants cover GEMM, qk and pv in hand-written SIMD, and layernorm, softmax, add2, GELU, the
/// attention residual's conv and head mixing, and patchify as C compiled for their ISA; the
/// transposes around Psi, meanpool and the int32 head always run the scalar reference.
public enum Kernels: String, CaseIterable, Sendable {
    case scalar
    case avx2
    case avxVNNI = "avx-vnni"
    case avx512VNNI = "avx512-vnni"
    case neon
    case neonDot = "neon-dot"

    /// The variants this binary has and this CPU can run, the scalar reference first.
    public static let available: [Kernels] = allCases.filter(\.isSupported)

    /// The fastest available variant: the last of `available`, which lists them slowest first.
    public static let best: Kernels = available[available.count - 1]

    public var isSupported: Bool {
        self == .scalar || lavit_variant_supported(variantID) != 0
    }

    /// Why this variant cannot run here, for skipped tests and refused options.
    public var unsupportedReason: String? {
        if isSupported { return nil }
        switch self {
        case .scalar: return nil
        case .avx2, .avxVNNI, .avx512VNNI:
            #if arch(x86_64)
            switch self {
            case .avx2: return "this CPU lacks AVX2"
            case .avxVNNI: return "this CPU has neither AVX-VNNI nor AVX-512 VL with VNNI"
            default: return "this CPU lacks AVX-512 F/BW/VL with VNNI"
            }
            #else
            return "an x86-64 variant; this is not an x86-64 machine"
            #endif
        case .neon, .neonDot:
            #if arch(arm64)
            return self == .neon ? "this CPU lacks Advanced SIMD" : "this CPU lacks the dot-product extension"
            #else
            return "an AArch64 variant; this is not an AArch64 machine (tested under qemu-aarch64 instead)"
            #endif
        }
    }

    var variantID: Int32 {
        switch self {
        case .scalar: 0
        case .avx2: Int32(LAVIT_VARIANT_AVX2)
        case .avxVNNI: Int32(LAVIT_VARIANT_AVXVNNI)
        case .avx512VNNI: Int32(LAVIT_VARIANT_AVX512VNNI)
        case .neon: Int32(LAVIT_VARIANT_NEON)
        case .neonDot: Int32(LAVIT_VARIANT_NEON_DOT)
        }
    }

    /// Output channels a thread's share of a GEMM starts on.
    public var outputBlock: Int { self == .scalar ? 1 : Int(LAVIT_BLOCK) }

    /// Per-thread scratch bytes for GEMMs of up to `depth`.
    public func scratchByteCount(depth: Int) -> Int {
        self == .scalar ? 0 : lavit_scratch_bytes(variantID, depth)
    }
}
