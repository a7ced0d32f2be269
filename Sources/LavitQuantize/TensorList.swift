import LavitModelFile

/// The model file's tensors in graph order, collected before the writer exists (its metadata
/// holds every scale, known only once the whole graph has been walked).
struct TensorList {
    struct Item {
        var name: String
        var dtype: DType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private(set) var items: [Item] = []

    mutating func add<T: ModelFileElement>(_ name: String, _ shape: [Int], _ values: [T]) {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        items.append(Item(name: name, dtype: T.dtype, shape: shape, bytes: values.withUnsafeBytes { Array($0) }))
    }

    mutating func add(_ layer: String, _ gemm: GemmParameters) {
        add("\(layer).w", [gemm.outputs, gemm.inputs], gemm.w)
        add("\(layer).b", [gemm.outputs], gemm.b)
        add("\(layer).m", [gemm.outputs], gemm.m)
        add("\(layer).s", [gemm.outputs], gemm.s)
        if let z = gemm.zOut { add("\(layer).p", [1], [Int64(z)]) }
    }

    mutating func add(_ layer: String, _ norm: LayerNormParameters) {
        add("\(layer).g", [norm.g.count], norm.g)
        add("\(layer).bb", [norm.bb.count], norm.bb)
        add("\(layer).p", [4], norm.p)
    }

    func writer(metadata: some Encodable) throws(QuantizeError) -> ModelFileWriter {
        do {
            var writer = try ModelFileWriter(metadata: metadata)
            for item in items {
                try writer.add(name: item.name, dtype: item.dtype, shape: item.shape, bytes: item.bytes)
            }
            return writer
        } catch {
            throw .modelFile(error.description)
        }
    }
}
