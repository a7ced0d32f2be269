import LavitChecksum

/// Where the parts of a checked file lie.
struct Layout {
    var metadata: Range<Int>
    var dataOffset: Int
    var tensors: [TensorEntry]
}

/// Checks every field of a model file against the file's length and against each other before
/// anything is used. Each failure throws the one `ModelFileError.Reason` that names it.
struct Validator {
    typealias Span = ModelFileError.Span

    let file: UnsafeRawBufferPointer
    let source: String

    private func fail(_ reason: ModelFileError.Reason) -> ModelFileError {
        ModelFileError(source: source, reason: reason)
    }

    private func u16(_ at: Int) -> UInt16 { UInt16(littleEndian: file.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
    private func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: file.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    private func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: file.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    func validate() throws(ModelFileError) -> Layout {
        try checkHeader()
        let fileSize = UInt64(file.count)
        let dataOffset = try checkDataOffset()
        let data = Span(name: "data section", start: dataOffset, end: fileSize)

        let metadata = try checkSection(
            "metadata", offset: u64(Format.Field.metadataOffset), size: u64(Format.Field.metadataSize))
        if metadata.end > dataOffset { throw fail(.sectionsOverlap(metadata, data)) }
        let metadataRange = Int(metadata.start)..<Int(metadata.end)
        let metadataBytes = UnsafeRawBufferPointer(rebasing: file[metadataRange])
        if let bad = firstInvalidUTF8Offset(metadataBytes) { throw fail(.metadataNotUTF8(byteOffset: bad)) }
        if let problem = jsonObjectProblem(metadataBytes) {
            throw fail(.metadataNotJSONObject(detail: problem))
        }

        let (table, records) = try readTable(dataSize: fileSize - dataOffset)
        if table.end > dataOffset { throw fail(.sectionsOverlap(table, data)) }
        if table.start < metadata.end && metadata.start < table.end { throw fail(.sectionsOverlap(metadata, table)) }

        try checkTensorsDisjoint(records)
        var used = [Span(name: "header", start: 0, end: UInt64(Format.headerSize)), metadata, table]
        used += records.map {
            Span(name: $0.name, start: dataOffset + UInt64($0.offset), end: dataOffset + UInt64($0.offset + $0.byteCount))
        }
        try checkPaddingIsZero(outside: used)
        return Layout(metadata: metadataRange, dataOffset: Int(dataOffset), tensors: records)
    }

    /// Magic, version, flags, size and checksum: what must hold before any offset means anything.
    /// The checksum comes before the structure so that a corrupted file reports corruption rather
    /// than whichever field the damage happened to hit.
    private func checkHeader() throws(ModelFileError) {
        guard file.count >= Format.headerSize else { throw fail(.shorterThanHeader(size: file.count)) }
        guard file.starts(with: Format.magic) else {
            throw fail(.badMagic(found: Array(file.prefix(Format.magic.count)), looksLike: foreignFormat(file)))
        }
        let version = u32(Format.Field.version)
        guard version == Format.version else { throw fail(.unsupportedVersion(version)) }
        let flags = u32(Format.Field.flags)
        guard flags == 0 else { throw fail(.unknownFlags(flags)) }
        let fileSize = u64(Format.Field.fileSize)
        guard fileSize == UInt64(file.count) else { throw fail(.fileSizeMismatch(header: fileSize, actual: file.count)) }
        let stored = u32(Format.Field.checksum)
        let computed = CRC32.fileChecksum(file)
        guard stored == computed else { throw fail(.checksumMismatch(stored: stored, computed: computed)) }
    }

    private func checkDataOffset() throws(ModelFileError) -> UInt64 {
        let offset = u64(Format.Field.dataOffset)
        guard offset % UInt64(Format.alignment) == 0 else { throw fail(.misalignedDataOffset(offset)) }
        guard offset >= UInt64(Format.headerSize) else {
            throw fail(.sectionStartsInHeader(section: "data section", offset: offset))
        }
        guard offset <= UInt64(file.count) else {
            throw fail(.sectionPastEnd(section: "data section", offset: offset, size: 0, fileSize: UInt64(file.count)))
        }
        return offset
    }

    private func checkSection(_ name: String, offset: UInt64, size: UInt64) throws(ModelFileError) -> Span {
        let (end, overflow) = offset.addingReportingOverflow(size)
        if overflow { throw fail(.sectionOverflow(section: name, offset: offset, size: size)) }
        if offset < UInt64(Format.headerSize) { throw fail(.sectionStartsInHeader(section: name, offset: offset)) }
        if end > UInt64(file.count) {
            throw fail(.sectionPastEnd(section: name, offset: offset, size: size, fileSize: UInt64(file.count)))
        }
        return Span(name: name, start: offset, end: end)
    }

    /// Parses the tensor table; returns its extent and its checked records.
    private func readTable(dataSize: UInt64) throws(ModelFileError) -> (Span, [TensorEntry]) {
        let tableOffset = u64(Format.Field.tableOffset)
        let count = u32(Format.Field.tensorCount)
        _ = try checkSection("tensor table", offset: tableOffset, size: 0)
        let room = UInt64(file.count) - tableOffset
        // Refuse before reserving memory or looping: each record takes at least minRecordSize bytes.
        guard UInt64(count) * UInt64(Format.minRecordSize) <= room else {
            throw fail(.tensorCountTooLarge(count: count, tableRoom: room))
        }
        var cursor = Int(tableOffset)
        var records: [TensorEntry] = []
        records.reserveCapacity(Int(count))
        var seen: [String: Int] = [:]
        for index in 0..<Int(count) {
            let record = try readRecord(index: index, at: &cursor, dataSize: dataSize)
            if let first = seen[record.name] { throw fail(.duplicateName(record.name, firstIndex: first, index: index)) }
            seen[record.name] = index
            records.append(record)
        }
        return (Span(name: "tensor table", start: tableOffset, end: UInt64(cursor)), records)
    }

    private func take(_ size: Int, _ field: String, index: Int, at cursor: inout Int) throws(ModelFileError) -> Int {
        guard size <= file.count - cursor else {
            throw fail(.tableTruncated(index: index, field: field, position: cursor, fileSize: file.count))
        }
        defer { cursor += size }
        return cursor
    }

    private func readRecord(index: Int, at cursor: inout Int, dataSize: UInt64) throws(ModelFileError) -> TensorEntry {
        let nameLength = Int(u16(try take(2, "name_len", index: index, at: &cursor)))
        guard (1...Format.maxNameLength).contains(nameLength) else {
            throw fail(.badNameLength(index: index, length: nameLength))
        }
        let nameStart = try take(nameLength, "name", index: index, at: &cursor)
        let nameBytes = UnsafeRawBufferPointer(rebasing: file[nameStart..<nameStart + nameLength])
        if let bad = firstInvalidUTF8Offset(nameBytes) { throw fail(.nameNotUTF8(index: index, byteOffset: bad)) }
        let name = String(decoding: nameBytes, as: UTF8.self)

        let code = file[try take(1, "dtype", index: index, at: &cursor)]
        guard let dtype = DType(rawValue: code) else { throw fail(.unknownDType(tensor: name, code: code)) }
        let rank = Int(file[try take(1, "rank", index: index, at: &cursor)])
        guard rank <= Format.maxRank else { throw fail(.rankTooLarge(tensor: name, rank: rank)) }
        let dimsStart = try take(8 * rank, "dims", index: index, at: &cursor)
        let dims = (0..<rank).map { u64(dimsStart + 8 * $0) }
        let offset = u64(try take(8, "offset", index: index, at: &cursor))
        let byteCount = u64(try take(8, "byte_count", index: index, at: &cursor))

        guard let expected = byteSize(dims, dtype) else {
            throw fail(.shapeTooLarge(tensor: name, shape: dims, dtype: dtype))
        }
        guard byteCount == expected else {
            throw fail(.byteCountMismatch(tensor: name, byteCount: byteCount, expected: expected, shape: dims, dtype: dtype))
        }
        guard offset % UInt64(Format.alignment) == 0 else { throw fail(.misalignedTensor(tensor: name, offset: offset)) }
        let (end, overflow) = offset.addingReportingOverflow(byteCount)
        guard !overflow, end <= dataSize else {
            throw fail(.tensorPastEnd(tensor: name, offset: offset, byteCount: byteCount, dataSize: dataSize))
        }
        // Every value is now at most the file's length, so the conversions to Int are exact.
        return TensorEntry(
            name: name, dtype: dtype, shape: dims.map { Int($0) }, byteCount: Int(byteCount), offset: Int(offset))
    }

    /// Product of the dimensions times the element size, or nil when it (or any dimension) does
    /// not fit in an Int.
    private func byteSize(_ dims: [UInt64], _ dtype: DType) -> UInt64? {
        var total = UInt64(dtype.elementSize)
        for dim in dims {
            guard dim <= UInt64(Int.max) else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            total = product
        }
        return total <= UInt64(Int.max) ? total : nil
    }

    private func checkTensorsDisjoint(_ records: [TensorEntry]) throws(ModelFileError) {
        let spans = records.filter { $0.byteCount > 0 }
            .map { Span(name: "tensor '\($0.name)'", start: UInt64($0.offset), end: UInt64($0.offset + $0.byteCount)) }
            .sorted { $0.start < $1.start }
        for (a, b) in zip(spans, spans.dropFirst()) where b.start < a.end {
            throw fail(.tensorsOverlap(a, b))
        }
    }

    /// Bytes that belong to no section are padding and must be zero, so a file has one meaning and
    /// nothing can hide in it.
    private func checkPaddingIsZero(outside used: [Span]) throws(ModelFileError) {
        var position = 0
        for span in used.sorted(by: { $0.start < $1.start }) {
            try checkZero(position..<max(position, Int(span.start)))
            position = max(position, Int(span.end))
        }
        try checkZero(position..<file.count)
    }

    private func checkZero(_ range: Range<Int>) throws(ModelFileError) {
        for i in range where file[i] != 0 {
            throw fail(.nonzeroPadding(offset: UInt64(i), value: file[i]))
        }
    }
}
