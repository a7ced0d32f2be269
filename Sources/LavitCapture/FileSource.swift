#if canImport(Glibc)
import Glibc
#endif
import LavitImage
import LavitSystem

/// Image files as a frame source, for trying the pipeline without a camera: one file, a directory
/// (its .jpg, .jpeg and .png files, sorted) or a glob pattern, looped at a steady rate.
///
/// Every file is read into one buffer sized at start for the largest, so frames cost no
/// allocation. A file that cannot be read when its turn comes (removed, grown past the buffer) is
/// skipped and counted; if none in a whole pass can be read, the source is `.offline` until one
/// can.
public final class FileSource: FrameSource {
    public let name: String
    public let paths: [String]
    public private(set) var state: SourceState = .starting
    public private(set) var counters = CaptureCounters()
    public var onStateChange: ((SourceState) -> Void)?

    private let system: System
    private let count: Int
    /// Nanoseconds between frames; 0 delivers as fast as asked.
    private let period: UInt64
    private let summary: String
    private let buffer: UnsafeMutableRawBufferPointer
    private var nextIndex = 0
    private var deadline: UInt64 = 0
    private var pendingSkipped = 0

    public static let imageExtensions = ["jpg", "jpeg", "png"]

    /// `source`: a file, a directory or a glob pattern. `framesPerSecond` 0 means unpaced;
    /// `count` frames in all, looping over the files, 0 for ever; without `loop`, at most one pass.
    public init(
        _ source: String, framesPerSecond: Double, count: Int = 0, loop: Bool = true, system: System = .live
    ) throws(CaptureError) {
        func fail(_ reason: CaptureError.Reason) -> CaptureError { CaptureError(source: source, reason) }
        guard framesPerSecond.isFinite, framesPerSecond >= 0, framesPerSecond <= 1000 else {
            throw fail(.configuration("frame rate \(framesPerSecond) is outside 0...1000"))
        }
        guard count >= 0 else { throw fail(.configuration("count \(count) is negative")) }
        let paths = try Self.resolve(source, system: system)
        var largest = 0
        for path in paths {
            do throws(FileReadError) {
                let (fd, size) = try system.openRegularFile(path)
                system.close(fd)
                guard size <= ImageLimits.maxFileBytes else { throw .tooLarge(size: size, limit: ImageLimits.maxFileBytes) }
                largest = max(largest, size)
            } catch {
                throw CaptureError(source: path, .noImages("\(error)"))
            }
        }
        self.paths = paths
        self.system = system
        self.count = loop ? count : (count == 0 ? paths.count : min(count, paths.count))
        period = framesPerSecond > 0 ? UInt64(1e9 / framesPerSecond) : 0
        name = "\(source) (\(paths.count) file\(paths.count == 1 ? "" : "s"))"
        summary = "\(paths.count) file\(paths.count == 1 ? "" : "s")" + (period > 0 ? " at \(framesPerSecond) fps" : "")
        buffer = .allocate(byteCount: max(largest, 1), alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// A file as itself, a directory as its images, anything else as a glob pattern; sorted.
    static func resolve(_ source: String, system: System) throws(CaptureError) -> [String] {
        func fail(_ message: String) -> CaptureError { CaptureError(source: source, .noImages(message)) }
        if let kind = try? system.fileKind(source) {
            if kind == S_IFREG { return [source] }
            if kind == S_IFDIR {
                let escaped = System.globEscaped(source)
                let all: [String]
                do throws(Errno) { all = try system.glob(escaped + (source.hasSuffix("/") ? "*" : "/*")) } catch {
                    throw fail(error.description)
                }
                let images = all.filter { path in
                    let name = path.split(separator: "/").last ?? ""
                    guard let dot = name.lastIndex(of: ".") else { return false }
                    return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
                        && (try? system.fileKind(path)) == S_IFREG
                }
                guard !images.isEmpty else { throw fail("no .jpg, .jpeg or .png files in this directory") }
                return images.sorted()
            }
            throw fail("not a file or directory")
        }
        let matches: [String]
        do throws(Errno) { matches = try system.glob(source) } catch { throw fail(error.description) }
        let files = matches.filter { (try? system.fileKind($0)) == S_IFREG }
        guard !files.isEmpty else {
            throw fail(source.contains(where: { "*?[".contains($0) }) ? "the pattern matches no files" : "no such file or directory")
        }
        return files.sorted()
    }

    public func nextFrame(timeoutMilliseconds: Int) -> Frame? {
        if count > 0 && counters.frames >= UInt64(count) {
            setState(.finished)
            return nil
        }
        guard state != .finished else { return nil }
        let start = system.monotonicNanoseconds()
        if deadline == 0 { deadline = start }
        let limit = start.saturatingAdd(.nanoseconds(milliseconds: timeoutMilliseconds))
        guard deadline <= limit else {
            system.sleep(untilMonotonic: limit)
            return nil
        }
        system.sleep(untilMonotonic: deadline)
        let wake = system.monotonicNanoseconds()
        // A consumer slower than the rate gets the next file now, not a burst to catch up.
        deadline = max(deadline.saturatingAdd(period), period > 0 ? wake : 0)
        var lastError: FileReadError?
        for _ in 0..<paths.count {
            let index = nextIndex
            nextIndex = nextIndex + 1 == paths.count ? 0 : nextIndex + 1
            let length: Int
            do throws(FileReadError) {
                length = try system.readFile(paths[index], into: buffer)
            } catch {
                lastError = error
                pendingSkipped = pendingSkipped.saturatingAdd(1)
                counters.skipped = counters.skipped.saturatingAdd(1)
                continue
            }
            let now = system.monotonicNanoseconds()
            let frame = Frame(
                payload: .compressed(UnsafeRawBufferPointer(rebasing: buffer[..<length])), sequence: counters.frames,
                skipped: pendingSkipped, monotonicNanoseconds: now, wallNanoseconds: system.realtimeNanoseconds(),
                grabNanoseconds: now - min(wake, now), file: paths[index])
            pendingSkipped = 0
            counters.frames &+= 1
            setState(.online(summary))
            return frame
        }
        if let lastError { setState(.offline("none of the \(paths.count) files could be read; the last: \(lastError)")) }
        return nil
    }

    /// The buffer is reused at the next `nextFrame`; nothing to hand back.
    public func releaseFrame() {}

    public func close() { setState(.finished) }

    private func setState(_ new: SourceState) {
        guard new != state else { return }
        state = new
        onStateChange?(new)
    }
}
