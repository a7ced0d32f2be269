/// The kernels the engine calls through, chosen once when an engine is built. Today only
/// `.scalar` exists; a SIMD table picked at run time by CPU features plugs in here, and must agree
/// with `.scalar` bit for bit. Only the kernels that carry the work are in the table; the cheap
/// ones (patchify, add2, gelu, transposes, AR conv, meanpool) are always the scalar reference.
public struct Kernels: Sendable {
    public typealias Gemm = @Sendable (
        _ x: UnsafeBufferPointer<Int8>, _ rows: Int, _ xStride: Int, _ p: GemmParameters,
        _ y: UnsafeMutableBufferPointer<Int8>, _ yStride: Int) -> Void
    public typealias LayerNorm = @Sendable (
        _ x: UnsafeBufferPointer<Int8>, _ rows: Int, _ p: LayerNormParameters,
        _ y: UnsafeMutableBufferPointer<Int8>) -> Void
    public typealias QK = @Sendable (
        _ q: UnsafeBufferPointer<Int8>, _ qStride: Int, _ k: UnsafeBufferPointer<Int8>, _ kStride: Int,
        _ shape: AttentionShape, _ r: Requantization, _ a: UnsafeMutableBufferPointer<Int8>) -> Void
    public typealias Softmax = @Sendable (
        _ a: UnsafeBufferPointer<Int8>, _ rows: Int, _ cols: Int, _ exp: UnsafeBufferPointer<Int32>,
        _ p: UnsafeMutableBufferPointer<Int16>) -> Void
    public typealias PV = @Sendable (
        _ p: UnsafeBufferPointer<Int16>, _ v: UnsafeBufferPointer<Int8>, _ vStride: Int,
        _ shape: AttentionShape, _ r: Requantization, _ o: UnsafeMutableBufferPointer<Int8>, _ oStride: Int) -> Void

    public var name: String
    public var gemm: Gemm
    public var layerNorm: LayerNorm
    public var qk: QK
    public var softmax: Softmax
    public var pv: PV

    public init(name: String, gemm: @escaping Gemm, layerNorm: @escaping LayerNorm, qk: @escaping QK, softmax: @escaping Softmax, pv: @escaping PV) {
        self.name = name
        self.gemm = gemm
        self.layerNorm = layerNorm
        self.qk = qk
        self.softmax = softmax
        self.pv = pv
    }

    /// The reference: `ScalarKernels`.
    public static let scalar = Kernels(
        name: "scalar",
        gemm: { ScalarKernels.gemm($0, rows: $1, stride: $2, $3, into: $4, stride: $5) },
        layerNorm: { ScalarKernels.layerNorm($0, rows: $1, $2, into: $3) },
        qk: { ScalarKernels.qk(q: $0, stride: $1, k: $2, stride: $3, $4, $5, into: $6) },
        softmax: { ScalarKernels.softmax($0, rows: $1, cols: $2, exp: $3, into: $4) },
        pv: { ScalarKernels.pv(p: $0, v: $1, stride: $2, $3, $4, into: $5, stride: $6) })
}
