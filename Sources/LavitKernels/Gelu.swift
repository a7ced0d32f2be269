extension ScalarKernels {
    /// QUANT.md kernel 8: `y = t[x + 128]` with the layer's 256-entry table. `y` may be `x` itself.
    public static func gelu(
        _ x: UnsafeBufferPointer<Int8>, table: UnsafeBufferPointer<Int8>, into y: UnsafeMutableBufferPointer<Int8>
    ) {
        precondition(table.count == 256, "gelu table has \(table.count) entries, expected 256")
        precondition(x.count >= y.count, "gelu input too short")
        for i in 0..<y.count { y[i] = table[Int(x[i]) + 128] }
    }
}
