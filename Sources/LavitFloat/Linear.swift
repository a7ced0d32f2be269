import LavitModel

/// `y = x W^T + b`, one Float dot product per output, summed before the bias as PyTorch's addmm.
func linear(_ x: Matrix, _ w: LinearWeights) -> Matrix {
    let (n, inF, outF) = (x.rows, w.inFeatures, w.outFeatures)
    precondition(x.cols == inF, "linear expects \(inF) features, got \(x.cols)")
    var y = Matrix(zeros: n, outF)
    x.data.withUnsafeBufferPointer { xs in
        w.weight.data.withUnsafeBufferPointer { ws in
            y.data.withUnsafeMutableBufferPointer { ys in
                for r in 0..<n {
                    for o in 0..<outF {
                        ys[r * outF + o] = dot(xs.baseAddress! + r * inF, ws.baseAddress! + o * inF, inF)
                    }
                }
            }
        }
    }
    if let bias = w.bias {
        for r in 0..<n {
            for o in 0..<outF { y.data[r * outF + o] += bias.data[o] }
        }
    }
    return y
}

/// Sixteen partial sums in two SIMD8 lanes, so the loop vectorizes (a single running Float sum
/// cannot be reordered by the compiler). The order differs from PyTorch's blocked GEMM as much
/// as PyTorch's differs from itself across builds: rounding-level, far inside the golden tolerance.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    let ra = UnsafeRawPointer(a)
    let rb = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>()
    var acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= count {
        acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
        i += 16
    }
    var sum = (acc0 + acc1).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// A conv whose stride equals its kernel over a `(height, width)` token grid: im2col, then the
/// weight as an `(out, in * k * k)` matrix. Trailing rows and columns that do not fill a kernel
/// are dropped, as PyTorch's unpadded conv floors.
func patchConv(_ x: Matrix, height: Int, width: Int, _ conv: ConvWeights) -> Matrix {
    linear(patches(x, height: height, width: width, kernel: conv.kernel), conv.matrix)
}

/// Patch rows in PyTorch's weight order `(c, ky, kx)` for each output cell, row-major.
func patches(_ x: Matrix, height: Int, width: Int, kernel k: Int) -> Matrix {
    precondition(x.rows == height * width, "\(x.rows) tokens on a \(height)x\(width) grid")
    let (c, oh, ow) = (x.cols, height / k, width / k)
    let rowLength = c * k * k
    var out = Matrix(zeros: oh * ow, rowLength)
    for y in 0..<oh {
        for xo in 0..<ow {
            let base = (y * ow + xo) * rowLength
            for ky in 0..<k {
                for kx in 0..<k {
                    let token = (y * k + ky) * width + (xo * k + kx)
                    for ch in 0..<c {
                        out.data[base + (ch * k + ky) * k + kx] = x.data[token * c + ch]
                    }
                }
            }
        }
    }
    return out
}
