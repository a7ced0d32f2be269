#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LavitCapture
import LavitImage
import LavitSystem

/// `lavit-capture`: camera frames saved as JPEG files under DIR/LABEL/, for collecting training
/// and calibration images with the camera the model will see.
public struct CaptureCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lavit-capture",
        abstract: "Save camera frames as JPEG files in DIR/LABEL/, named LABEL-0001.jpg and on.")

    @Argument(help: "The camera: /dev/video0, or a /dev/v4l/by-id/ link that survives replugging.")
    var device: String

    @Argument(help: "The directory to write into; created if missing.")
    var directory: String

    @Option(help: "The class label: the subdirectory and the file name prefix.")
    var label: String

    @Option(help: "How many frames to save.")
    var count: Int

    @Option(help: "Frame width; with --height, exactly this size. Default: the smallest at least 224x224.")
    var width: Int?

    @Option(help: "Frame height; with --width.")
    var height: Int?

    @Option(name: .customLong("interval-ms"), help: "The least time between saved frames, in milliseconds.")
    var intervalMilliseconds = 0

    public init() {}

    /// Frames that fail to decode in a row before giving up: a camera sending only damaged JPEGs.
    static let maxRejectedInARow = 50

    public func validate() throws {
        guard !label.isEmpty, label != ".", label != "..", !label.contains("/"), !label.utf8.contains(0) else {
            throw ValidationError("--label must be a plain name: not empty, no '/', not '.' or '..'")
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard (width == nil) == (height == nil) else { throw ValidationError("give --width and --height together") }
        if let width, let height {
            guard (1...ImageLimits.maxSide).contains(width), (1...ImageLimits.maxSide).contains(height) else {
                throw ValidationError("--width and --height must be within 1...\(ImageLimits.maxSide)")
            }
        }
        guard intervalMilliseconds >= 0 else { throw ValidationError("--interval-ms must not be negative") }
    }

    public func run() throws {
        do {
            try run(system: .live) { print($0) }
        } catch {
            writeStderr("error: \(error)\n")
            throw ExitCode.failure
        }
    }

    /// The capture loop on `system` (a fake camera in tests); `log` gets one line per file.
    /// Returns the paths written.
    @discardableResult
    public func run(system: System, log: (String) -> Void) throws(CaptureFailure) -> [String] {
        let size: FrameSize =
            if let width, let height { .exactly(width: width, height: height) } else { .atLeast(width: 224, height: 224) }
        let source: CameraSource
        do throws(CaptureError) {
            source = try CameraSource(CameraConfiguration(path: device, size: size), system: system)
        } catch {
            throw CaptureFailure("\(error)")
        }
        defer { source.close() }
        if case let .online(summary) = source.state { log("\(device): \(summary)") }

        let folder = (directory.hasSuffix("/") ? directory : directory + "/") + label
        var number: Int
        do throws(Errno) {
            try system.makeDirectories(folder)
            number = try Self.nextNumber(in: folder, label: label, system: system)
        } catch {
            throw CaptureFailure("\(folder): \(error)")
        }

        let decoder = ImageDecoder()
        let encoder = JPEGEncoder(quality: 90)
        var image = RGBImage(width: 1, height: 1)
        var written: [String] = []
        var lastSaved: UInt64?
        var rejectedInARow = 0
        let interval = UInt64(intervalMilliseconds) * 1_000_000
        while written.count < count {
            guard let frame = source.nextFrame(timeoutMilliseconds: 500) else {
                if case let .offline(reason) = source.state { throw CaptureFailure("\(device): \(reason)") }
                continue
            }
            defer { source.releaseFrame() }
            if let lastSaved, frame.monotonicNanoseconds &- lastSaved < interval { continue }
            let bytes: [UInt8]
            switch frame.payload {
            case let .compressed(data):
                // Saved as the camera sent it, but only once it is known to decode.
                do throws(ImageError) {
                    try decoder.decode(data, into: &image)
                } catch {
                    rejectedInARow += 1
                    guard rejectedInARow < Self.maxRejectedInARow else {
                        throw CaptureFailure("\(device): \(rejectedInARow) frames in a row do not decode; the last: \(error)")
                    }
                    continue
                }
                bytes = Array(data)
            case let .yuyv(data, width, height, bytesPerLine):
                do throws(ImageError) {
                    bytes = try encoder.encode(yuyv: data, width: width, height: height, bytesPerLine: bytesPerLine)
                } catch {
                    throw CaptureFailure("\(device): \(error)")
                }
            }
            rejectedInARow = 0
            let path = folder + "/" + Self.fileName(label: label, number: number)
            do throws(Errno) { try system.writeFileAtomically(path, bytes) } catch { throw CaptureFailure("\(path): \(error)") }
            log("wrote \(path)")
            written.append(path)
            number += 1
            lastSaved = frame.monotonicNanoseconds
        }
        return written
    }

    /// "cat-0001.jpg": four digits at least, so a folder sorts in capture order.
    static func fileName(label: String, number: Int) -> String {
        let digits = String(number)
        return label + "-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + ".jpg"
    }

    /// One past the highest number already in `folder`, so a second session adds to the first
    /// instead of overwriting it.
    static func nextNumber(in folder: String, label: String, system: System) throws(Errno) -> Int {
        let prefix = label + "-"
        var highest = 0
        for path in try system.glob(System.globEscaped(folder + "/" + prefix) + "*.jpg") {
            let name = path.split(separator: "/").last.map(String.init) ?? ""
            guard name.hasPrefix(prefix), name.hasSuffix(".jpg") else { continue }
            if let number = Int(name.dropFirst(prefix.count).dropLast(4)), number > highest { highest = number }
        }
        return highest + 1
    }
}

/// Why a capture stopped, on one line.
public struct CaptureFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = try? System.live.writeFully(2, UnsafeRawBufferPointer(bytes)) }
}
