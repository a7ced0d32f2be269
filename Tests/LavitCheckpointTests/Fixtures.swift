import LavitCheckpoint
import LavitChecksum
import Testing
import LavitTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checkpoints written by `Tools/make_golden.py` (PyTorch and its own safetensors writer), which
/// are the independent source these tests compare against.
enum Fixtures {
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)  // LavitCheckpointTests/Fixtures.swift
        return parts.joined(separator: "/") + "/Fixtures"
    }()

    static func golden(_ config: String, _ file: String) -> String { "\(root)/golden/\(config)/\(file)" }
    static func bad(_ file: String) -> String { "\(root)/bad/\(file)" }

    static let configs = ["plain", "multi", "rect"]

    static func bytes(_ path: String) throws -> [UInt8] {
        let file = try #require(fopen(path, "rb"), "cannot open \(path)")
        defer { fclose(file) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = fread(&buffer, 1, buffer.count, file)
            if got == 0 { break }
            out += buffer[0..<got]
        }
        return out
    }
}

/// Writes a minimal zip of stored entries (or entries that claim another method), so tests can
/// craft archives torch would never write. CRC-32 is computed bit by bit here, independently of
/// the table-driven one under test.
enum ZipBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        /// Precomputed CRC-32, to save recomputing it for large entries reused across cases.
        var crc: UInt32? = nil
    }

    /// With `zip64`, sizes and offsets go in zip64 extra fields and the directory is found through
    /// a zip64 end record and locator, as a writer does for archives over 4 GiB.
    static func build(_ entries: [Entry], zip64: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        var central = [UInt8]()
        for entry in entries {
            let offset = out.count
            let name = Array(entry.name.utf8)
            let crc = entry.crc ?? entry.data.withUnsafeBytes { CRC32.update(0, $0) }
            let size = zip64 ? 0xFFFF_FFFF : UInt32(entry.data.count)
            let extra =
                zip64
                ? le16(1) + le16(24) + le64(UInt64(entry.data.count)) + le64(UInt64(entry.data.count))
                    + le64(UInt64(offset)) : []
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(entry.method) + le16(0) + le16(0)
            out += le32(crc) + le32(size) + le32(size)
            out += le16(UInt16(name.count)) + le16(0) + name + entry.data
            central += le32(0x0201_4B50) + le16(45) + le16(45) + le16(0) + le16(entry.method) + le16(0) + le16(0)
            central += le32(crc) + le32(size) + le32(size)
            central += le16(UInt16(name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
            central += le32(zip64 ? 0xFFFF_FFFF : UInt32(offset)) + name + extra
        }
        let centralOffset = out.count
        out += central
        if zip64 {
            let recordOffset = out.count
            out += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            out +=
                le64(UInt64(entries.count)) + le64(UInt64(entries.count)) + le64(UInt64(central.count))
                + le64(UInt64(centralOffset))
            out += le32(0x0706_4B50) + le32(0) + le64(UInt64(recordOffset)) + le32(1)
            out +=
                le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(0xFFFF_FFFF)
                + le32(0xFFFF_FFFF) + le16(0)
        } else {
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
            out += le32(UInt32(central.count)) + le32(UInt32(centralOffset)) + le16(0)
        }
        return out
    }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

/// A safetensors file from a header JSON text and a data section.
func safetensorsFile(header: String, data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    return le64(UInt64(json.count)) + json + data
}

/// Expects `body` to throw a `CheckpointError` of `kind` whose one-line description contains
/// every fragment; returns it for further checks.
@discardableResult
func expectFailure(
    _ kind: CheckpointError.Kind, _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Checkpoint
) -> CheckpointError? {
    do {
        _ = try body()
        Issue.record(
            "expected a \(kind) error containing \(fragments), but loading succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as CheckpointError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.description.contains(fragment), "\(error) lacks \(fragment)", sourceLocation: sourceLocation)
        }
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("threw \(type(of: error)), not CheckpointError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
