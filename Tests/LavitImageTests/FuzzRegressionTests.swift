import CAllocationCounter
import LavitImage
import Testing

/// Inputs Tools/fuzz.sh found, kept so they stay fixed.
@Suite struct FuzzRegressionTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// A 105-byte 17x12 PNG whose tEXt chunk declares 1,023,410,202 bytes: libpng allocated the
    /// declared length before finding the file too short (fuzz target image, out-of-memory).
    @Test func hugeDeclaredChunkAllocatesLittle() {
        let png = Self.bytes("89504e470d0a1a0a0000000d49484452000000110000000c10020000005bd71dab3d00001a74455874436f6d6d656e74006c6176697420746573742066697874757265d9f5b98a0000013349444154f9d9a78500000080c091088d64484c1ac5c003944e44ae426082")
        #expect(png.count == 105)
        lavit_alloc_count_reset()
        #expect {
            try ImageDecoder.decode(bytes: png)
        } throws: { error in
            "\(error)".contains("chunk tEXt at byte 33 declares 1023410202 bytes, more than the file holds (60)")
        }
        #expect(lavit_alloc_largest() < 2 << 20, "largest allocation \(lavit_alloc_largest()) bytes")
    }
}
