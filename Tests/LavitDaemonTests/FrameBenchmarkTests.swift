import Foundation
import Glibc
import LavitCapture
@testable import LavitDaemon
import LavitFakes
import LavitSystem
import LavitTestSupport
import Testing

/// Per-frame time outside the engine (grab + decode + preprocess + publish), printed, not
/// asserted: `LAVIT_DAEMON_BENCH=1 swift test -c release --filter FrameBenchmarkTests`. The
/// camera is the fake V4L2 driver serving each photo-like 1280x720 JPEG as MJPEG, so the grab is
/// lavit's real capture code (poll, DQBUF, requeue) with no USB transfer behind it; a client is
/// connected and drained. The publisher's per-client encoding runs on its own thread and is not
/// in these numbers; the frame thread's hand-off to it is.
@Suite(.serialized, .enabled(if: getenv("LAVIT_DAEMON_BENCH") != nil, "set LAVIT_DAEMON_BENCH=1 to time the frame path"))
struct FrameBenchmarkTests {
    @Test func outsideTheEngine() throws {
        var lines = ["frame path outside the engine, shipped model, 1280x720 MJPEG, 300 frames each:"]
        for photo in RepositoryPaths.photos {
            let jpeg = Array(try Data(contentsOf: URL(fileURLWithPath: photo)))
            let fake = camera(fourcc: FakeCamera.mjpeg, width: 1280, height: 720, jpeg: jpeg)
            let daemon = try daemonOnFakeCamera(fake, name: "bench")
            let client = try System.live.connectUnix(daemon.config.socket)
            let drain = try System.live.startThread {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while read(client, &buffer, buffer.count) > 0 {}
            }
            let loop = FrameLoop(daemon: daemon)
            for _ in 0..<20 { _ = loop.step() }
            var outside: [Double] = []
            var decode: [Double] = []
            for _ in 0..<300 {
                let start = System.live.monotonicNanoseconds()
                _ = loop.step()
                let total = System.live.monotonicNanoseconds() - start
                outside.append(Double(total - daemon.classifier.inferNanoseconds) / 1e6)
                decode.append(Double(daemon.classifier.decodeNanoseconds) / 1e6)
            }
            daemon.publisher.stop()
            drain.join()
            close(client)
            outside.sort()
            decode.sort()
            let name = (photo as NSString).lastPathComponent
            lines.append(String(
                format: "  %@ (%d KB): median %.2f ms, p90 %.2f ms (decode + preprocess median %.2f ms)", name, jpeg.count / 1000,
                outside[150], outside[270], decode[150]))
        }
        print(lines.joined(separator: "\n"))
    }
}
