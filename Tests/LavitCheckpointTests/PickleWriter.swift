/// Emits protocol-2 pickle opcodes by hand, to build state dicts (and hostile pickles) that torch
/// would not write, without Python at test time.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ opcode: UInt8) { bytes.append(opcode) }
    mutating func mark() { op(0x28) }
    mutating func emptyDict() { op(0x7D) }
    mutating func setItem() { op(0x73) }
    mutating func setItems() { op(0x75) }
    mutating func tuple() { op(0x74) }
    mutating func reduce() { op(0x52) }
    mutating func stop() { op(0x2E) }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes += [0x58] + le32(UInt32(utf8.count)) + utf8
    }

    mutating func int(_ i: Int32) {
        bytes += [0x4A] + le32(UInt32(bitPattern: i))
    }

    /// BININT when it fits, else LONG1 with 8 bytes: hostile views need sizes near 2^63.
    mutating func int(_ i: Int) {
        if let small = Int32(exactly: i) { return int(small) }
        bytes += [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: i >> (8 * $0)) }
    }

    mutating func float(_ d: Double) {
        bytes.append(0x47)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: d.bitPattern >> UInt64(shift)))
        }
    }

    mutating func bool(_ b: Bool) { op(b ? 0x88 : 0x89) }

    mutating func global(_ module: String, _ name: String) {
        bytes += [0x63] + Array("\(module)\n\(name)\n".utf8)
    }

    mutating func intTuple(_ values: [Int]) {
        mark()
        for v in values { int(v) }
        tuple()
    }

    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` with
    /// the storage as torch's persistent id.
    mutating func tensor(
        storage key: String, type: String = "FloatStorage", numel: Int, offset: Int, size: [Int], stride: [Int]
    ) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", type)
        string(key)
        string("cpu")
        int(Int32(numel))
        tuple()
        op(0x51)  // BINPERSID
        int(offset)
        intTuple(size)
        intTuple(stride)
        bool(false)
        global("collections", "OrderedDict")
        op(0x29)  // EMPTY_TUPLE
        reduce()
        tuple()
        reduce()
    }
}

/// A torch-style zip: `archive/data.pkl`, `archive/version` and one entry per storage.
func torchZip(pickle: [UInt8], storages: [(String, [UInt8])] = [], extra: [ZipBuilder.Entry] = [], zip64: Bool = false)
    -> [UInt8]
{
    var entries = [ZipBuilder.Entry(name: "archive/data.pkl", data: pickle)]
    entries += storages.map { ZipBuilder.Entry(name: "archive/data/\($0.0)", data: $0.1) }
    entries.append(ZipBuilder.Entry(name: "archive/version", data: Array("3\n".utf8)))
    return ZipBuilder.build(entries + extra, zip64: zip64)
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { le32($0.bitPattern) }
}
