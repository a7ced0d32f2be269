extension ScalarKernels {
    /// `y[b, c, r] = x[b, r, c]` for `batches` matrices of `rows x cols`: the layout changes the graph
    /// makes around Psi and the AR's 1x1 conv. `y` must not alias `x`.
    public static func transpose(
        _ x: UnsafeBufferPointer<Int8>, batches: Int, rows: Int, cols: Int,
        into y: UnsafeMutableBufferPointer<Int8>
    ) {
        let size = rows * cols
        precondition(x.count >= batches * size && y.count >= batches * size, "transpose buffers too short")
        for b in 0..<batches {
            let base = b * size
            for r in 0..<rows {
                for c in 0..<cols {
                    y[base + c * rows + r] = x[base + r * cols + c]
                }
            }
        }
    }
}
