import LavitModel

/// A row-major `(rows, cols)` Float32 matrix: tokens are `(N, C)`, scores `(h * N, Nk)` with
/// head-major rows, so every kernel walks contiguous memory.
struct Matrix {
    var rows: Int
    var cols: Int
    var data: [Float]

    init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "matrix data \(data.count) is not \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, data: [Float](repeating: 0, count: rows * cols))
    }

    /// The same values under another shape, for observers and outputs.
    func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: data) }
    var tensor: Tensor { tensor([rows, cols]) }

    static func += (lhs: inout Matrix, rhs: Matrix) {
        precondition(lhs.rows == rhs.rows && lhs.cols == rhs.cols, "adding \(rhs.rows)x\(rhs.cols) to \(lhs.rows)x\(lhs.cols)")
        for i in lhs.data.indices { lhs.data[i] += rhs.data[i] }
    }

    /// Columns `start ..< start + count` as a matrix of their own (the k and v halves of kv).
    func columns(_ start: Int, _ count: Int) -> Matrix {
        var out = [Float]()
        out.reserveCapacity(rows * count)
        for r in 0..<rows { out += data[(r * cols + start)..<(r * cols + start + count)] }
        return Matrix(rows: rows, cols: count, data: out)
    }
}
