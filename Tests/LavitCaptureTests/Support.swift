import Glibc
import LavitCapture
import LavitImage
import LavitFakes
import LavitSystem

/// Tests/Fixtures/images, found from this file's path.
let imageFixtures: String = {
    var path = #filePath
    while let last = path.last, last != "/" { path.removeLast() }
    return path + "../Fixtures/images/"
}()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
}

func fixtureBytes(_ name: String) throws -> [UInt8] {
    try System.live.readFile(imageFixtures + name, limit: 1 << 20)
}

/// A fresh directory under /tmp, removed by `removeTree`.
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/lavit-capture-test-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw TestFailure(description: "mkdtemp failed")
    }
    return String(cString: made)
}

func removeTree(_ path: String) {
    for entry in (try? System.live.glob(System.globEscaped(path) + "/*")) ?? [] {
        if (try? System.live.fileKind(entry)) == S_IFDIR { removeTree(entry) } else { unlink(entry) }
    }
    rmdir(path)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    do { try System.live.writeFileAtomically(path, bytes) } catch { throw TestFailure(description: "\(error)") }
}

/// A fake offering MJPEG and YUYV at three sizes, its JPEG frames a real fixture.
func standardCamera(formats: [UInt32] = [FakeCamera.yuyv, FakeCamera.mjpeg]) throws -> FakeCamera {
    let sizes = [(width: 160, height: 120), (width: 320, height: 240), (width: 640, height: 480)]
    let camera = FakeCamera(formats: formats.map { FakeCamera.Format(fourcc: $0, sizes: sizes) })
    camera.jpeg = try fixtureBytes("jpeg_420_37x29.jpg")
    return camera
}

/// A source on `camera` with fast timeouts, recording every state it reports.
final class Recorder {
    var states: [SourceState] = []
}

func openSource(
    _ camera: FakeCamera, size: FrameSize = .atLeast(width: 224, height: 224), bufferCount: Int = 4,
    recorder: Recorder? = nil
) throws -> CameraSource {
    let source = try CameraSource(
        CameraConfiguration(
            path: camera.path, size: size, bufferCount: bufferCount, frameTimeoutMilliseconds: 2000,
            retryIntervalMilliseconds: 1000),
        system: System(camera))
    if let recorder { source.onStateChange = { recorder.states.append($0) } }
    return source
}

/// The bytes of a payload, copied out.
func bytes(of frame: Frame) -> [UInt8] {
    switch frame.payload {
    case let .compressed(data): Array(data)
    case let .yuyv(data, _, _, _): Array(data)
    }
}
