/// A pickle virtual machine that knows only the opcodes and globals a torch state dict needs.
/// Anything else is refused by name, never executed, and every resource it could grow is bounded.
struct Unpickler {
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20
    static let maxObjects = 1 << 22
    static let maxNesting = 64

    private let code: [UInt8]
    private var at = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var heap = PickleHeap()
    private var objects = 0

    /// Runs `code` to its STOP opcode and returns the object it built.
    static func load(_ code: [UInt8]) throws(ParseFailure) -> (root: PickleValue, heap: PickleHeap) {
        var machine = Unpickler(code: code)
        let root = try machine.run()
        return (root, machine.heap)
    }

    private init(code: [UInt8]) {
        self.code = code
    }

    private mutating func run() throws(ParseFailure) -> PickleValue {
        while at < code.count {
            let opcodeAt = at
            let opcode = code[at]
            at += 1
            switch opcode {
            case 0x80:  // PROTO
                let version = try byte()
                guard (2...5).contains(version) else {
                    throw .unsupported("pickle protocol \(version) is not supported (2 to 5 are)")
                }
            case 0x95:  // FRAME: a length hint; the bytes follow inline.
                let length = try unsigned(8)
                guard length <= code.count - at else { throw truncated(opcodeAt, "FRAME") }
            case 0x7D: try push(.dict(new(\.dicts, PickleDict())))  // EMPTY_DICT
            case 0x5D: try push(.list(new(\.lists, [])))  // EMPTY_LIST
            case 0x29: try push(.tuple(new(\.tuples, [])))  // EMPTY_TUPLE
            case 0x28:  // MARK
                guard marks.count < Self.maxNesting else {
                    throw .malformed("pickle nests deeper than \(Self.maxNesting) levels at offset \(opcodeAt)")
                }
                marks.append(stack.count)
            case 0x58: try push(.string(text(count: unsigned(4), opcodeAt)))  // BINUNICODE
            case 0x8C: try push(.string(text(count: unsigned(1), opcodeAt)))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(text(count: unsigned(8), opcodeAt)))  // BINUNICODE8
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: unsigned(4)))))  // BININT
            case 0x4B: try push(.int(unsigned(1)))  // BININT1
            case 0x4D: try push(.int(unsigned(2)))  // BININT2
            case 0x8A: try push(.int(long(count: unsigned(1), opcodeAt)))  // LONG1
            case 0x8B: try push(.int(long(count: unsigned(4), opcodeAt)))  // LONG4
            case 0x47:  // BINFLOAT, big-endian
                var bits: UInt64 = 0
                for _ in 0..<8 { bits = bits << 8 | UInt64(try byte()) }
                push(.float(Double(bitPattern: bits)))
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var items = [PickleValue]()
                for _ in 0..<Int(opcode - 0x84) { items.insert(try pop(opcodeAt), at: 0) }
                try push(.tuple(new(\.tuples, items)))
            case 0x74: try push(.tuple(new(\.tuples, popToMark(opcodeAt))))  // TUPLE
            case 0x73:  // SETITEM
                let value = try pop(opcodeAt)
                let key = try pop(opcodeAt)
                try setItems(key, value, opcodeAt)
            case 0x75:  // SETITEMS
                let items = try popToMark(opcodeAt)
                guard items.count % 2 == 0 else {
                    throw .malformed("pickle SETITEMS at offset \(opcodeAt) has an odd number of items")
                }
                for pair in stride(from: 0, to: items.count, by: 2) {
                    try setItems(items[pair], items[pair + 1], opcodeAt)
                }
            case 0x61: try append([pop(opcodeAt)], opcodeAt)  // APPEND
            case 0x65: try append(popToMark(opcodeAt), opcodeAt)  // APPENDS
            case 0x71: try memoize(unsigned(1), opcodeAt)  // BINPUT
            case 0x72: try memoize(unsigned(4), opcodeAt)  // LONG_BINPUT
            case 0x94: try memoize(memo.count, opcodeAt)  // MEMOIZE
            case 0x68: try recall(unsigned(1), opcodeAt)  // BINGET
            case 0x6A: try recall(unsigned(4), opcodeAt)  // LONG_BINGET
            case 0x63:  // GLOBAL: "module\nname\n"
                let module = try line(opcodeAt)
                let name = try line(opcodeAt)
                push(.global(try global(module: module, name: name)))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop(opcodeAt), case .string(let module) = try pop(opcodeAt) else {
                    throw .malformed("pickle STACK_GLOBAL at offset \(opcodeAt) expects two strings")
                }
                push(.global(try global(module: module, name: name)))
            case 0x52:  // REDUCE
                let arguments = try pop(opcodeAt)
                let callable = try pop(opcodeAt)
                push(try call(callable, arguments, opcodeAt))
            case 0x51: push(try persistentLoad(pop(opcodeAt), opcodeAt))  // BINPERSID
            case 0x4E: push(.null)  // NONE
            case 0x88: push(.bool(true))  // NEWTRUE
            case 0x89: push(.bool(false))  // NEWFALSE
            case 0x62:  // BUILD: only OrderedDict attributes (a state dict's `_metadata`), which lavit ignores.
                _ = try pop(opcodeAt)
                guard case .dict = try top(opcodeAt) else {
                    throw .unsupported(
                        "pickle BUILD at offset \(opcodeAt) targets a \(try top(opcodeAt).typeName), not a dict")
                }
            case 0x30: _ = try pop(opcodeAt)  // POP
            case 0x31: _ = try popToMark(opcodeAt)  // POP_MARK
            case 0x32: push(try top(opcodeAt))  // DUP
            case 0x2E:  // STOP
                return try pop(opcodeAt)
            default:
                throw .unsupported(
                    "pickle opcode 0x\(String(opcode, radix: 16)) at offset \(opcodeAt) is not supported")
            }
            guard stack.count <= Self.maxStack else {
                throw .malformed("pickle stack grows past \(Self.maxStack) entries at offset \(opcodeAt)")
            }
        }
        throw .malformed("pickle is truncated: \(code.count) bytes end before its STOP opcode")
    }

    // MARK: Reading operands

    private func truncated(_ opcodeAt: Int, _ what: String) -> ParseFailure {
        .malformed("pickle is truncated: \(what) at offset \(opcodeAt) runs past its end (\(code.count) bytes)")
    }

    private mutating func byte() throws(ParseFailure) -> UInt8 {
        guard at < code.count else { throw truncated(at - 1, "an operand") }
        defer { at += 1 }
        return code[at]
    }

    /// An unsigned little-endian operand of `width` bytes, as an Int (failing if it does not fit).
    private mutating func unsigned(_ width: Int) throws(ParseFailure) -> Int {
        guard width <= code.count - at else { throw truncated(at - 1, "a \(width)-byte operand") }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(code[at + i]) << (8 * i) }
        at += width
        guard let result = Int(exactly: value) else {
            throw .malformed("pickle operand \(value) at offset \(at - width) is too large")
        }
        return result
    }

    /// A two's-complement little-endian integer of `count` bytes; wider than 64 bits is refused.
    private mutating func long(count: Int, _ opcodeAt: Int) throws(ParseFailure) -> Int {
        guard count <= 8 else {
            throw .unsupported("pickle integer at offset \(opcodeAt) is \(count) bytes, wider than 64 bits")
        }
        guard count <= code.count - at else { throw truncated(opcodeAt, "LONG") }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(code[at + i]) << (8 * i) }
        if count > 0, count < 8, code[at + count - 1] & 0x80 != 0 { value |= ~0 << (8 * count) }
        at += count
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(count: Int, _ opcodeAt: Int) throws(ParseFailure) -> String {
        guard count <= code.count - at else { throw truncated(opcodeAt, "a \(count)-byte string") }
        defer { at += count }
        guard let string = String(validating: code[at..<(at + count)], as: UTF8.self) else {
            throw .malformed("pickle string at offset \(opcodeAt) is not valid UTF-8")
        }
        return string
    }

    private mutating func line(_ opcodeAt: Int) throws(ParseFailure) -> String {
        guard let newline = code[at...].prefix(256).firstIndex(of: 0x0A) else { throw truncated(opcodeAt, "GLOBAL") }
        defer { at = newline + 1 }
        guard let string = String(validating: code[at..<newline], as: UTF8.self) else {
            throw .malformed("pickle GLOBAL at offset \(opcodeAt) is not valid UTF-8")
        }
        return string
    }

    // MARK: Stack, marks, memo

    private mutating func push(_ value: PickleValue) {
        stack.append(value)
    }

    private func top(_ opcodeAt: Int) throws(ParseFailure) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw .malformed("pickle stack underflow at offset \(opcodeAt)") }
        return stack[stack.count - 1]
    }

    private mutating func pop(_ opcodeAt: Int) throws(ParseFailure) -> PickleValue {
        let value = try top(opcodeAt)
        stack.removeLast()
        return value
    }

    private mutating func popToMark(_ opcodeAt: Int) throws(ParseFailure) -> [PickleValue] {
        guard let mark = marks.popLast() else {
            throw .malformed("pickle opcode at offset \(opcodeAt) needs a MARK and has none")
        }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func memoize(_ index: Int, _ opcodeAt: Int) throws(ParseFailure) {
        guard memo.count < Self.maxMemo || memo[index] != nil else {
            throw .malformed("pickle memo grows past \(Self.maxMemo) entries at offset \(opcodeAt)")
        }
        memo[index] = try top(opcodeAt)
    }

    private mutating func recall(_ index: Int, _ opcodeAt: Int) throws(ParseFailure) {
        guard let value = memo[index] else {
            throw .malformed("pickle reads unset memo slot \(index) at offset \(opcodeAt)")
        }
        push(value)
    }

    /// Adds a container, storage or tensor; the count is capped because each costs far more
    /// memory than the one opcode byte that makes it.
    private mutating func new<T>(_ arena: WritableKeyPath<PickleHeap, [T]>, _ value: T) throws(ParseFailure) -> Int {
        objects += 1
        guard objects <= Self.maxObjects else { throw .malformed("pickle builds more than \(Self.maxObjects) objects") }
        heap[keyPath: arena].append(value)
        return heap[keyPath: arena].count - 1
    }

    // MARK: Containers

    private mutating func setItems(_ key: PickleValue, _ value: PickleValue, _ opcodeAt: Int) throws(ParseFailure) {
        guard case .dict(let dict) = try top(opcodeAt) else {
            throw .malformed("pickle sets an item on a \(try top(opcodeAt).typeName) at offset \(opcodeAt)")
        }
        heap.dicts[dict].set(key, value)
    }

    private mutating func append(_ items: [PickleValue], _ opcodeAt: Int) throws(ParseFailure) {
        guard case .list(let list) = try top(opcodeAt) else {
            throw .malformed("pickle appends to a \(try top(opcodeAt).typeName) at offset \(opcodeAt)")
        }
        heap.lists[list].append(contentsOf: items)
    }

    // MARK: Globals and calls

    private func global(module: String, name: String) throws(ParseFailure) -> TorchGlobal {
        guard let global = TorchGlobal(module: module, name: name) else {
            let named = quoted(module + "." + name)
            let reason = "pickle names forbidden global \(named) (only state-dict globals are allowed)"
            throw ParseFailure(kind: .forbidden, reason: reason)
        }
        return global
    }

    private mutating func call(_ callable: PickleValue, _ arguments: PickleValue, _ opcodeAt: Int)
        throws(ParseFailure) -> PickleValue
    {
        guard case .global(let function) = callable else {
            throw .malformed("pickle REDUCE at offset \(opcodeAt) calls a \(callable.typeName)")
        }
        guard case .tuple(let argumentsIndex) = arguments else {
            throw .malformed(
                "pickle REDUCE at offset \(opcodeAt) passes a \(arguments.typeName) "
                    + "as arguments to \(function.qualifiedName)")
        }
        let args = heap.tuples[argumentsIndex]
        let fail = { (why: String) in
            ParseFailure.malformed("pickle call to \(function.qualifiedName) at offset \(opcodeAt): \(why)")
        }

        switch function {
        case .orderedDict:
            guard args.isEmpty else { throw fail("expected no arguments") }
            return try .dict(new(\.dicts, PickleDict()))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): the parameter is its data.
            guard args.count == 3, case .tensor = args[0] else { throw fail("expected (tensor, requires_grad, hooks)") }
            return args[0]
        case .rebuildTensorV2:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count == 6 || args.count == 7, case .storage(let storage) = args[0],
                case .int(let offset) = args[1],
                let shape = intTuple(args[2]), let strides = intTuple(args[3])
            else { throw fail("expected (storage, offset, size, stride, requires_grad, hooks)") }
            guard shape.count == strides.count else { throw fail("size \(shape) and stride \(strides) differ in rank") }
            guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw fail("negative offset, size or stride (offset \(offset), size \(shape), stride \(strides))")
            }
            return try .tensor(
                new(\.tensors, TensorRef(storage: storage, offset: offset, shape: shape, strides: strides)))
        case .storage:
            throw fail("storage types are only valid inside a persistent id")
        }
    }

    private func intTuple(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let index) = value else { return nil }
        var ints = [Int]()
        for item in heap.tuples[index] {
            guard case .int(let i) = item else { return nil }
            ints.append(i)
        }
        return ints
    }

    /// torch's persistent id for a storage: ('storage', StorageType, key, location, numel).
    private mutating func persistentLoad(_ id: PickleValue, _ opcodeAt: Int) throws(ParseFailure) -> PickleValue {
        guard case .tuple(let index) = id, heap.tuples[index].count == 5,
            case .string("storage") = heap.tuples[index][0],
            case .global(.storage(let type)) = heap.tuples[index][1],
            case .string(let key) = heap.tuples[index][2],
            case .string = heap.tuples[index][3],
            case .int(let count) = heap.tuples[index][4], count >= 0
        else {
            throw .malformed(
                "pickle persistent id at offset \(opcodeAt) is not ('storage', type, key, location, numel)")
        }
        return try .storage(new(\.storages, StorageRef(key: key, type: type, count: count)))
    }
}
