import LavitChecksum

/// The part of ZIP that `torch.save` writes: stored (uncompressed) entries, optional zip64
/// records, one disk. Every offset and size is checked against the file before it is used.
struct ZipArchive {
    struct Entry {
        var name: String
        var data: Range<Int>
        var crc: UInt32
    }

    private let bytes: [UInt8]
    private(set) var entries: [Entry] = []
    private var indexByName: [String: Int] = [:]

    init(_ bytes: [UInt8]) throws(ParseFailure) {
        self.bytes = bytes
        let directory = try Self.findCentralDirectory(bytes)
        guard directory.count <= directory.range.count / Self.centralHeaderSize else {
            throw .malformed(
                "zip claims \(directory.count) entries in a \(directory.range.count)-byte central directory")
        }
        var at = directory.range.lowerBound
        for index in 0..<directory.count {
            let entry = try readCentralEntry(at: &at, index: index, in: directory.range)
            guard indexByName[entry.name] == nil else {
                throw .malformed("zip has two entries named \(quoted(entry.name))")
            }
            indexByName[entry.name] = entries.count
            entries.append(entry)
        }
    }

    func entry(named name: String) -> Entry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entry's bytes, after checking its CRC-32.
    func contents(of entry: Entry) throws(ParseFailure) -> ArraySlice<UInt8> {
        let data = bytes[entry.data]
        let crc = data.withUnsafeBytes { CRC32.update(0, $0) }
        guard crc == entry.crc else {
            throw .malformed("zip entry \(quoted(entry.name)) fails its CRC-32 check (damaged file)")
        }
        return data
    }

    private static let centralHeaderSize = 46
    private static let localHeaderSize = 30

    private static func findCentralDirectory(_ bytes: [UInt8]) throws(ParseFailure) -> (range: Range<Int>, count: Int) {
        let eocdSize = 22
        guard bytes.count >= eocdSize else {
            throw .malformed("zip is too short for an end-of-central-directory record")
        }
        // The record sits at the end, followed only by a comment whose length it states.
        var eocd: Int?
        var at = bytes.count - eocdSize
        while at >= max(0, bytes.count - eocdSize - 0xFFFF) {
            let comment = bytes.count - at - eocdSize
            if try bytes.littleEndian(UInt32.self, at: at, "EOCD signature") == 0x0605_4B50,
                try bytes.littleEndian(UInt16.self, at: at + 20, "EOCD comment length") == comment
            {
                eocd = at
                break
            }
            at -= 1
        }
        guard let eocd else { throw .malformed("zip has no end-of-central-directory record (truncated or not a zip)") }

        let disk = try bytes.littleEndian(UInt16.self, at: eocd + 4, "EOCD disk number")
        let directoryDisk = try bytes.littleEndian(UInt16.self, at: eocd + 6, "EOCD directory disk")
        var count = UInt64(try bytes.littleEndian(UInt16.self, at: eocd + 10, "EOCD entry count"))
        var size = UInt64(try bytes.littleEndian(UInt32.self, at: eocd + 12, "EOCD directory size"))
        var offset = UInt64(try bytes.littleEndian(UInt32.self, at: eocd + 16, "EOCD directory offset"))
        var directoryEnd = eocd

        let locator = eocd - 20
        if locator >= 0, try bytes.littleEndian(UInt32.self, at: locator, "zip64 locator signature") == 0x0706_4B50 {
            let recordOffset = try bytes.littleEndian(UInt64.self, at: locator + 8, "zip64 EOCD offset")
            guard let record = Int(exactly: recordOffset), record <= locator - 56 else {
                throw .malformed("zip64 EOCD offset \(recordOffset) is outside the file")
            }
            guard try bytes.littleEndian(UInt32.self, at: record, "zip64 EOCD signature") == 0x0606_4B50 else {
                throw .malformed("zip64 EOCD record at offset \(record) has a bad signature")
            }
            guard try bytes.littleEndian(UInt32.self, at: record + 16, "zip64 disk number") == 0,
                try bytes.littleEndian(UInt32.self, at: record + 20, "zip64 directory disk") == 0
            else { throw .unsupported("multi-disk zip archives are not supported") }
            count = try bytes.littleEndian(UInt64.self, at: record + 32, "zip64 entry count")
            size = try bytes.littleEndian(UInt64.self, at: record + 40, "zip64 directory size")
            offset = try bytes.littleEndian(UInt64.self, at: record + 48, "zip64 directory offset")
            directoryEnd = record
        } else {
            guard disk == 0, directoryDisk == 0 else { throw .unsupported("multi-disk zip archives are not supported") }
        }

        guard let start = Int(exactly: offset), let length = Int(exactly: size), let entries = Int(exactly: count),
            start <= directoryEnd, length <= directoryEnd - start
        else {
            throw .malformed("zip central directory (offset \(offset), size \(size)) lies outside the file")
        }
        return (start..<(start + length), entries)
    }

    private func readCentralEntry(at: inout Int, index: Int, in directory: Range<Int>) throws(ParseFailure) -> Entry {
        let field = { (name: String) in "zip central directory entry \(index) \(name)" }
        guard at <= directory.upperBound - Self.centralHeaderSize,
            try bytes.littleEndian(UInt32.self, at: at, field("signature")) == 0x0201_4B50
        else { throw .malformed("\(field("header")) at offset \(at) is missing or cut short") }

        let flags = try bytes.littleEndian(UInt16.self, at: at + 8, field("flags"))
        let method = try bytes.littleEndian(UInt16.self, at: at + 10, field("method"))
        let crc = try bytes.littleEndian(UInt32.self, at: at + 16, field("CRC"))
        var compressedSize = UInt64(try bytes.littleEndian(UInt32.self, at: at + 20, field("compressed size")))
        var size = UInt64(try bytes.littleEndian(UInt32.self, at: at + 24, field("size")))
        let nameLength = Int(try bytes.littleEndian(UInt16.self, at: at + 28, field("name length")))
        let extraLength = Int(try bytes.littleEndian(UInt16.self, at: at + 30, field("extra length")))
        let commentLength = Int(try bytes.littleEndian(UInt16.self, at: at + 32, field("comment length")))
        var localOffset = UInt64(try bytes.littleEndian(UInt32.self, at: at + 42, field("local header offset")))

        let nameStart = at + Self.centralHeaderSize
        let extraStart = nameStart + nameLength
        let end = extraStart + extraLength + commentLength
        guard end <= directory.upperBound else {
            throw .malformed("\(field("name and extra fields")) run past the central directory")
        }
        guard let name = String(validating: bytes[nameStart..<extraStart], as: UTF8.self) else {
            throw .malformed("\(field("name")) is not valid UTF-8")
        }
        at = end

        // zip64: sizes and offset that did not fit in 32 bits live in extra field 0x0001, in this order.
        var extra = extraStart
        while extra + 4 <= extraStart + extraLength {
            let id = try bytes.littleEndian(UInt16.self, at: extra, field("extra id"))
            let length = Int(try bytes.littleEndian(UInt16.self, at: extra + 2, field("extra length")))
            let dataEnd = extra + 4 + length
            guard dataEnd <= extraStart + extraLength else {
                throw .malformed("zip entry \(quoted(name)) has an extra field that runs past its end")
            }
            if id == 0x0001 {
                var cursor = extra + 4
                if size == 0xFFFF_FFFF { size = try zip64Value(&cursor, end: dataEnd, name: name) }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try zip64Value(&cursor, end: dataEnd, name: name) }
                if localOffset == 0xFFFF_FFFF { localOffset = try zip64Value(&cursor, end: dataEnd, name: name) }
            }
            extra = dataEnd
        }

        guard flags & 1 == 0 else { throw .unsupported("zip entry \(quoted(name)) is encrypted") }
        guard method == 0 else {
            throw .unsupported(
                "zip entry \(quoted(name)) is compressed (method \(method)); "
                    + "torch checkpoints store entries uncompressed")
        }
        guard compressedSize == size else {
            throw .malformed("zip entry \(quoted(name)) is stored but its sizes differ (\(compressedSize) vs \(size))")
        }
        guard let local = Int(exactly: localOffset), let length = Int(exactly: size), local < directory.lowerBound
        else {
            throw .malformed("zip entry \(quoted(name)) has local header offset \(localOffset) outside the file")
        }
        let data = try localData(name, at: local, length: length, limit: directory.lowerBound)
        return Entry(name: name, data: data, crc: crc)
    }

    private func zip64Value(_ cursor: inout Int, end: Int, name: String) throws(ParseFailure) -> UInt64 {
        guard cursor + 8 <= end else { throw .malformed("zip entry \(quoted(name)) has a short zip64 extra field") }
        defer { cursor += 8 }
        return try bytes.littleEndian(UInt64.self, at: cursor, "zip64 extra field")
    }

    /// Where the entry's bytes are, from its local header, which must agree on the name.
    private func localData(_ name: String, at local: Int, length: Int, limit: Int) throws(ParseFailure) -> Range<Int> {
        guard local <= limit - Self.localHeaderSize,
            try bytes.littleEndian(UInt32.self, at: local, "local header signature") == 0x0403_4B50
        else { throw .malformed("zip entry \(quoted(name)) has no local header at offset \(local)") }
        let nameLength = Int(try bytes.littleEndian(UInt16.self, at: local + 26, "local name length"))
        let extraLength = Int(try bytes.littleEndian(UInt16.self, at: local + 28, "local extra length"))
        let nameStart = local + Self.localHeaderSize
        let dataStart = nameStart + nameLength + extraLength
        guard dataStart <= limit, length <= limit - dataStart else {
            throw .malformed(
                "zip entry \(quoted(name)) (\(length) bytes at offset \(dataStart)) runs past its space in the file")
        }
        guard bytes[nameStart..<(nameStart + nameLength)].elementsEqual(name.utf8) else {
            throw .malformed("zip entry \(quoted(name)): local header names a different file")
        }
        return dataStart..<(dataStart + length)
    }
}
