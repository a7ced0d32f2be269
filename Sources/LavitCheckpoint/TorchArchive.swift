import LavitModel

/// A `torch.save` zip archive: `<archive>/data.pkl` describes the object and names storages that
/// live in `<archive>/data/<key>`. Only the state dict's tensors are read; other entries (epoch,
/// optimizer state) are parsed but left alone.
struct TorchArchive {
    /// Keys a training script wraps the state dict in, tried in this order, at most twice deep.
    static let wrapperKeys = ["model", "state_dict"]

    private let archive: ZipArchive
    private let prefix: String
    private let heap: PickleHeap
    private let root: PickleDict
    /// Storage contents widened to Float, keyed by entry and type: views share one storage.
    private var widened: [String: [Float]] = [:]
    /// Elements gathered so far, over every tensor, bounded by what any model can need.
    private var materialized = 0

    static func read(_ bytes: [UInt8]) throws(ParseFailure) -> RawCheckpoint {
        var torch = try TorchArchive(bytes)
        return RawCheckpoint(entries: try torch.stateDictEntries(), config: torch.config())
    }

    private init(_ bytes: [UInt8]) throws(ParseFailure) {
        archive = try ZipArchive(bytes)
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
        }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw .malformed(
                pickles.isEmpty
                    ? "zip has no '<archive>/data.pkl' entry, so it is not a torch checkpoint"
                    : "zip has \(pickles.count) '<archive>/data.pkl' entries")
        }
        prefix = String(pickle.name.dropLast("data.pkl".count))

        if let order = archive.entry(named: prefix + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
            guard text == "little" else {
                throw .unsupported(
                    "\(quoted(order.name)) is \(quoted(text)); only little-endian checkpoints are supported")
            }
        }
        if let version = archive.entry(named: prefix + "version") {
            let text = String(decoding: try archive.contents(of: version), as: UTF8.self)
            guard let number = Int(text.filter { !$0.isNewline }), number > 0 else {
                throw .malformed("\(quoted(version.name)) is \(quoted(text)), not a format version number")
            }
        }

        let loaded: (root: PickleValue, heap: PickleHeap)
        do {
            loaded = try Unpickler.load(Array(try archive.contents(of: pickle)))
        } catch {
            throw ParseFailure(kind: error.kind, reason: "\(quoted(pickle.name)): \(error.reason)")
        }
        heap = loaded.heap
        guard case .dict(let rootIndex) = loaded.root else {
            throw .malformed("\(quoted(pickle.name)) holds a \(loaded.root.typeName), not a dict")
        }
        root = heap.dicts[rootIndex]
    }

    /// The state dict: the top-level dict, or what `model`/`state_dict` wraps (once or twice).
    private mutating func stateDictEntries() throws(ParseFailure) -> [RawCheckpoint.Entry] {
        var stateDict = root
        var path = "top level"
        descend: for depth in 0..<2 {
            for key in Self.wrapperKeys {
                guard case .dict(let index)? = stateDict[key] else { continue }
                stateDict = heap.dicts[index]
                path = depth == 0 ? quoted(key) : path + "." + quoted(key)
                continue descend
            }
            break
        }

        var entries = [RawCheckpoint.Entry]()
        for (key, value) in zip(stateDict.keys, stateDict.values) {
            guard case .string(let name) = key, case .tensor(let index) = value else { continue }
            let (tensor, type) = try materialize(heap.tensors[index], name: name)
            entries.append(.init(name: name, tensor: tensor, storedType: type))
        }
        guard !entries.isEmpty else {
            let wrappers = Self.wrapperKeys.map { quoted($0) }.joined(separator: ", ")
            throw .malformed("no tensors in the state dict at \(path) (looked for wrappers \(wrappers))")
        }
        return entries
    }

    /// Gathers a strided view into a dense row-major tensor, after checking that every element it
    /// addresses lies inside its storage and the storage inside its zip entry.
    private mutating func materialize(_ ref: TensorRef, name: String) throws(ParseFailure) -> (Tensor, ElementType) {
        let what = "tensor \(quoted(name))"
        let storage = heap.storages[ref.storage]
        let entryName = prefix + "data/" + storage.key
        guard let entry = archive.entry(named: entryName) else {
            throw .malformed("\(what): storage \(quoted(storage.key)) has no zip entry \(quoted(entryName))")
        }
        let byteCount = try checkedMultiply(storage.count, storage.type.byteCount, "\(what) storage size")
        guard entry.data.count == byteCount else {
            throw .malformed(
                "\(what): entry \(quoted(entryName)) has \(entry.data.count) bytes but its storage needs "
                    + "\(byteCount) (\(storage.count) x \(storage.type.rawValue))")
        }

        let count = try elementCount(ref.shape, what)
        // A view can only outgrow its storage (which the file had to hold) by repeating elements
        // with a zero or overlapping stride. torch saves parameters dense, so such a view is a
        // file asking for memory: refused before anything is allocated.
        guard count <= max(storage.count, 1) else {
            throw .malformed(
                "\(what) (size \(ref.shape), stride \(ref.strides)) has \(count) elements, more than its "
                    + "\(storage.count)-element storage holds")
        }
        materialized = try checkedAdd(materialized, count, "\(what) total element count")
        guard materialized <= Config.Limits.parameters else {
            throw .malformed(
                "\(what): the state dict's tensors hold more than \(Config.Limits.parameters) elements, "
                    + "more than any model lavit defines")
        }
        var last = ref.offset
        for (size, stride) in zip(ref.shape, ref.strides) where size > 0 {
            last = try checkedAdd(last, checkedMultiply(size - 1, stride, "\(what) extent"), "\(what) extent")
        }
        guard count == 0 ? ref.offset <= storage.count : last < storage.count else {
            throw .malformed(
                "\(what) (offset \(ref.offset), size \(ref.shape), stride \(ref.strides)) "
                    + "reaches past its \(storage.count)-element storage")
        }

        let cacheKey = storage.type.rawValue + ":" + storage.key
        if widened[cacheKey] == nil {
            let raw = try archive.contents(of: entry)
            widened[cacheKey] = raw.withUnsafeBytes { storage.type.widen($0) }
        }
        let source = widened[cacheKey] ?? []
        return (Tensor(shape: ref.shape, data: Self.gather(source, ref, count: count)), storage.type)
    }

    /// Row-major walk of a strided view; bounds were checked by the caller.
    private static func gather(_ source: [Float], _ ref: TensorRef, count: Int) -> [Float] {
        if count == 0 { return [] }
        var contiguousStride = 1
        var contiguous = true
        for (size, stride) in zip(ref.shape, ref.strides).reversed() {
            if size != 1 && stride != contiguousStride { contiguous = false }
            contiguousStride *= size
        }
        if contiguous { return Array(source[ref.offset..<(ref.offset + count)]) }

        var out = [Float]()
        out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: ref.shape.count)
        var at = ref.offset
        for _ in 0..<count {
            out.append(source[at])
            // Steps only to positions inside the checked extent: stepping past the end of an axis
            // first (even a size-1 one, whose stride may be anything) could overflow.
            var axis = ref.shape.count - 1
            while axis >= 0 {
                if index[axis] + 1 < ref.shape[axis] {
                    index[axis] += 1
                    at += ref.strides[axis]
                    break
                }
                at -= ref.strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    private func config() -> RawCheckpoint.ConfigSource {
        guard let value = root[RawCheckpoint.configKey] else { return .absent }
        do {
            return .json(try PickleJSON.text(value, heap: heap))
        } catch {
            return .invalid(error.reason)
        }
    }
}
