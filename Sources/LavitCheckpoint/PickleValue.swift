/// A value the restricted unpickler builds (`null` is Python's None). Containers are indices into
/// `PickleHeap`, so values stay flat: a hostile pickle cannot build a nesting deep enough to
/// overflow the stack when it is walked or freed, and a container mutated after being memoised is
/// seen through every reference.
enum PickleValue: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case global(TorchGlobal)
    case storage(Int)
    case tensor(Int)

    /// For messages: what kind of thing was found where something else was expected.
    var typeName: String {
        switch self {
        case .null: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let global): global.qualifiedName
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}

/// The only globals a state dict needs (what `torch.load(weights_only=True)` allows for one).
enum TorchGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case storage(ElementType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch", let storage):
            guard let type = Self.storageTypes[storage] else { return nil }
            self = .storage(type)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .storage(let type): "torch." + (Self.storageTypes.first { $0.value == type }?.key ?? type.rawValue)
        }
    }

    private static let storageTypes: [String: ElementType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]
}

/// A dict in insertion order. Keys that Python would hash (str, int, None) replace on a repeat;
/// other keys are kept but never matched, which no state dict notices.
struct PickleDict {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var index: [HashableKey: Int] = [:]

    private enum HashableKey: Hashable {
        case string(String)
        case int(Int)
        case none
    }

    var count: Int { keys.count }

    subscript(key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        let hashable: HashableKey? =
            switch key {
            case .string(let s): .string(s)
            case .int(let i): .int(i)
            case .null: HashableKey.none
            default: nil
            }
        if let hashable, let at = index[hashable] {
            values[at] = value
            return
        }
        if let hashable { index[hashable] = keys.count }
        keys.append(key)
        values.append(value)
    }
}

/// A storage named by a persistent id: which zip entry holds it, its element type and count.
struct StorageRef {
    var key: String
    var type: ElementType
    var count: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage, not yet read.
struct TensorRef {
    var storage: Int
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// Everything the values point into.
struct PickleHeap {
    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [PickleDict] = []
    var storages: [StorageRef] = []
    var tensors: [TensorRef] = []
}
