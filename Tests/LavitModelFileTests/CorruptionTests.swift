import Testing
@testable import LavitModelFile
import LavitTestSupport

/// Damage that is not crafted: every prefix of a file and single-bit flips anywhere in it. The
/// checksum covers every byte, so every one of these must be refused, and none may crash.
struct CorruptionTests {
    @Test func everyTruncationThrows() throws {
        let bytes = try sampleFile()
        for length in 0..<bytes.count {
            let error = parseError(Array(bytes.prefix(length)))
            let expected: ModelFileError.Reason = length < 64
                ? .shorterThanHeader(size: length)
                : .fileSizeMismatch(header: UInt64(bytes.count), actual: length)
            #expect(error?.reason == expected, "length \(length)")
        }
        #expect(parseError(bytes) == nil)
    }

    @Test func everyBitFlipThrows() throws {
        let bytes = try sampleFile()
        var random = SplitMix64(seed: 0x1A71_7008)
        var positions = Set<Int>()
        for trial in 0..<300 {
            let position = Int(random.next() % UInt64(bytes.count))
            let bit = UInt8(1) << (random.next() % 8)
            positions.insert(position)
            var damaged = bytes
            damaged[position] ^= bit
            let error = parseError(damaged)
            #expect(error != nil, "trial \(trial): flip of bit \(bit) at byte \(position) was accepted")
        }
        // The seed must reach the header, the metadata, the table and the data alike.
        let dataOffset = Int(bytes.u64(at: 56))
        #expect(positions.contains { $0 < 64 } && positions.contains { (64..<105).contains($0) })
        #expect(positions.contains { (105..<dataOffset).contains($0) } && positions.contains { $0 >= dataOffset })
    }

    @Test func flipsInPaddingAreCaughtByTheChecksum() throws {
        let bytes = try sampleFile()
        let tableEnd = bytes.record(6).byteCount + 8
        var damaged = bytes
        damaged[tableEnd] = 0xFF
        guard case .checksumMismatch? = parseError(damaged)?.reason else { Issue.record("padding flip not caught"); return }
    }
}

