import LavitChecksum

extension CRC32 {
    /// The file checksum: CRC-32 of the whole file with the checksum field read as zeros.
    static func fileChecksum(_ file: UnsafeRawBufferPointer) -> UInt32 {
        let field = Format.Field.checksum
        var crc = update(0, UnsafeRawBufferPointer(rebasing: file[..<field]))
        crc = withUnsafeBytes(of: UInt32(0)) { update(crc, $0) }
        return update(crc, UnsafeRawBufferPointer(rebasing: file[(field + 4)...]))
    }
}
