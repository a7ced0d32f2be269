import LavitFakes
import CAllocationCounter
import LavitCapture
import Testing

/// The capture loop runs for weeks: once warm, taking and returning frames must not touch the
/// heap. The counter is per thread, and a synchronous test body stays on one.
@Suite struct CaptureAllocationTests {
    @Test(arguments: [FakeCamera.mjpeg, FakeCamera.yuyv])
    func steadyStateAllocatesNothing(format: UInt32) throws {
        let camera = try standardCamera(formats: [format])
        camera.jpegPadding = 4096
        // Two frames per wake-up: every call also drains and requeues an older buffer.
        camera.framesPerPoll = 2
        let source = try openSource(camera)
        for _ in 0..<10 {
            _ = source.nextFrame(timeoutMilliseconds: 100)
            source.releaseFrame()
        }
        lavit_alloc_count_reset()
        var delivered = 0
        for _ in 0..<200 {
            if source.nextFrame(timeoutMilliseconds: 100) != nil { delivered += 1 }
            source.releaseFrame()
        }
        let allocations = lavit_alloc_count()
        #expect(allocations == 0, "\(allocations) allocations in 200 frames")
        #expect(delivered == 200)
        #expect(source.counters.skipped >= 200)
    }
}
