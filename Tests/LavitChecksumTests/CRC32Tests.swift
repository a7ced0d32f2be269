import LavitChecksum
import LavitTestSupport
import Testing

struct CRC32Tests {
    @Test func crcMatchesTheStandardCheckValue() {
        // The CRC-32 check value from the catalogue of parametrised CRCs, as zlib.crc32 gives it.
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.update(0, $0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.update(0, $0) } == 0)
    }

    @Test func slicedCRCMatchesBitAtATime() {
        func bitwise(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0xEDB8_8320 : 0) }
            }
            return ~c
        }
        var random = SplitMix64(seed: 9)
        let bytes = (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for length in 0...bytes.count {
            let prefix = Array(bytes.prefix(length))
            #expect(prefix.withUnsafeBytes { CRC32.update(0, $0) } == bitwise(prefix), "length \(length)")
            let split = length / 3
            let chained = prefix.withUnsafeBytes {
                let head = CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[..<split]))
                return CRC32.update(head, UnsafeRawBufferPointer(rebasing: $0[split...]))
            }
            #expect(chained == bitwise(prefix), "length \(length) split at \(split)")
        }
    }
}
