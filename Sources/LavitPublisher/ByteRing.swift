/// A client's outgoing bytes: a fixed circular buffer allocated once at accept, so a client that
/// reads slowly costs a bounded amount of memory. Whole messages go in or none of it does, and
/// bytes leave from the head in order, so a partial `send` never reorders or splits lines.
struct ByteRing {
    private let storage: UnsafeMutableRawBufferPointer
    private(set) var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        storage = .allocate(byteCount: max(capacity, 1), alignment: 1)
    }

    var capacity: Int { storage.count }
    var free: Int { storage.count - count }
    var isEmpty: Bool { count == 0 }

    /// Appends all of `bytes`, or nothing when they do not fit; whether they did.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= free else { return false }
        var tail = (head + count) % capacity
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, capacity - tail)
            UnsafeMutableRawBufferPointer(rebasing: storage[tail..<tail + n])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
            tail = (tail + n) % capacity
        }
        count += bytes.count
        return true
    }

    /// The oldest queued bytes that lie contiguous in memory: what to `send` next.
    var firstChunk: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[head..<head + min(count, capacity - head)])
    }

    /// Forgets the first `n` queued bytes, after they were sent.
    mutating func consume(_ n: Int) {
        let n = min(n, count)
        head = (head + n) % capacity
        count -= n
        if count == 0 { head = 0 }
    }

    func deallocate() { storage.deallocate() }
}
