/// The scalar integer reference of every kernel in `Tools/QUANT.md` "Kernels", written to be read
/// against that text line by line. Faster variants must agree with these bit for bit.
///
/// Buffers are caller-owned and sized by the caller; nothing here allocates. Rows are contiguous
/// unless a stride is given. An output may alias an input only where a kernel says so.
public enum ScalarKernels {}
