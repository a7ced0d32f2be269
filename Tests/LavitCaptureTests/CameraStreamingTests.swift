import CSystemShims
import Glibc
import LavitCapture
import LavitImage
import LavitFakes
import LavitSystem
import Testing

@Suite struct CameraStreamingTests {
    @Test func deliversTheFreshestFrameAndCountsWhatItSkipped() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        camera.capture(3)
        let first = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(first.sequence == 2 && first.skipped == 2)
        #expect(bytes(of: first) == camera.jpeg)
        source.releaseFrame()

        camera.capture(1)
        let second = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(second.sequence == 3 && second.skipped == 0)

        // The driver dropped 5 frames (no buffer free): a gap in its sequence numbers.
        camera.dropBeforeNext = 5
        camera.capture(2)
        let third = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(third.sequence == 10 && third.skipped == 6)
        #expect(source.counters == CaptureCounters(frames: 3, skipped: 8, reopens: 0, timeouts: 0))
    }

    @Test func moreReadyFramesThanBuffersStillYieldTheNewest() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        // Four buffers: the first four are kept by the driver, the other six dropped.
        camera.capture(10)
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(frame.sequence == 3 && frame.skipped == 3)
        camera.capture(1)
        let next = try #require(source.nextFrame(timeoutMilliseconds: 0))
        #expect(next.sequence == 10 && next.skipped == 6)
    }

    @Test func timestampsComeFromTheDriverClock() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        camera.capture(1)
        let captured = camera.monotonic
        camera.monotonic += 7_000_000
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(frame.monotonicNanoseconds == captured)
        #expect(frame.wallNanoseconds == camera.realtimeOffset + Int64(captured))
    }

    @Test func paddedJPEGIsTrimmed() throws {
        let camera = try standardCamera()
        camera.jpegPadding = 100_000
        let source = try openSource(camera)
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 100))
        guard case let .compressed(data) = frame.payload else { throw TestFailure(description: "not compressed") }
        #expect(data.count == camera.jpeg.count)
        #expect(try ImageDecoder.decode(bytes: Array(data)).width == 37)
    }

    @Test func framesClaimingMoreThanTheirBufferAreDropped() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        camera.bytesusedOverride = UInt32(camera.buffers[0].length + 1)
        camera.capture(1)
        #expect(source.nextFrame(timeoutMilliseconds: 50) == nil)
        camera.bytesusedOverride = nil
        camera.capture(1)
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 50))
        #expect(frame.skipped == 1 && frame.sequence == 1)
        #expect(source.state == .online("MJPG 320x240 @ 30 fps"))
    }

    @Test func truncatedJPEGAndShortYUYVAreDropped() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        camera.jpeg.removeLast(10)
        let source = try openSource(camera)
        camera.capture(1)
        #expect(source.nextFrame(timeoutMilliseconds: 50) == nil)
        #expect(source.counters.skipped == 1)

        let yuyv = try standardCamera(formats: [FakeCamera.yuyv])
        yuyv.bytesusedOverride = 1000
        let yuyvSource = try openSource(yuyv)
        #expect(yuyvSource.nextFrame(timeoutMilliseconds: 50) == nil)
        #expect(yuyvSource.counters.skipped >= 1 && yuyvSource.counters.frames == 0)
    }

    @Test func yuyvFramesCarryTheirGeometry() throws {
        let camera = try standardCamera(formats: [FakeCamera.yuyv])
        camera.rowPadding = 64
        let source = try openSource(camera)
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 50))
        guard case let .yuyv(data, width, height, bytesPerLine) = frame.payload else {
            throw TestFailure(description: "not YUYV")
        }
        #expect(width == 320 && height == 240 && bytesPerLine == 704 && data.count == 704 * 240)
        #expect(try RGBImage(yuyv: data, width: width, height: height, bytesPerLine: bytesPerLine).width == 320)
    }

    @Test func unplugGoesOfflineAndReplugComesBack() throws {
        let camera = try standardCamera()
        let recorder = Recorder()
        let source = try openSource(camera, recorder: recorder)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)

        // The held buffer goes back first, and that is what fails.
        camera.unplug()
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        #expect(source.state == .offline("VIDIOC_QBUF failed: No such device (errno 19)"))
        // Everything let go: no mapping, no descriptor.
        #expect(camera.mappings == 0 && camera.openDescriptor == -1)

        // Retries at most once a second, each call sleeping at most its timeout.
        let opensBefore = camera.opens
        for _ in 0..<25 {
            let before = camera.monotonic
            #expect(source.nextFrame(timeoutMilliseconds: 200) == nil)
            #expect(camera.monotonic - before <= 200_000_000)
        }
        #expect(source.state == .offline("no such device or file"))

        camera.replug()
        var frame: Frame?
        for _ in 0..<10 where frame == nil { frame = source.nextFrame(timeoutMilliseconds: 200) }
        #expect(frame != nil)
        #expect(camera.opens == opensBefore + 1)
        #expect(source.counters.reopens == 1)
        #expect(source.state == .online("MJPG 320x240 @ 30 fps"))
        // Numbering goes on from before the outage.
        #expect(frame.map { $0.sequence } == 1)
        #expect(recorder.states == [
            .offline("VIDIOC_QBUF failed: No such device (errno 19)"), .offline("no such device or file"),
            .online("MJPG 320x240 @ 30 fps"),
        ])
    }

    @Test func unplugWhileWaitingIsSeenByTheDequeue() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        camera.unplug()
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        #expect(source.state == .offline("VIDIOC_DQBUF failed: No such device (errno 19)"))
    }

    @Test func inputOutputErrorsReopen() throws {
        let camera = try standardCamera()
        let source = try openSource(camera)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
        camera.injected = [(LAVIT_VIDIOC_DQBUF, EIO)]
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        #expect(source.state == .offline("VIDIOC_DQBUF failed: Input/output error (errno 5)"))
        var frame: Frame?
        for _ in 0..<10 where frame == nil { frame = source.nextFrame(timeoutMilliseconds: 500) }
        #expect(frame != nil && source.counters.reopens == 1)
    }

    @Test func failedRequeueGoesOffline() throws {
        let camera = try standardCamera()
        let source = try openSource(camera)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
        camera.injected = [(LAVIT_VIDIOC_QBUF, ENODEV)]
        source.releaseFrame()
        #expect(source.state == .offline("VIDIOC_QBUF failed: No such device (errno 19)"))
        #expect(camera.streamOffs == 1 && camera.mappings == 0)
    }

    @Test func silenceGoesOfflineAfterTheFrameTimeout() throws {
        let camera = try standardCamera()
        let source = try openSource(camera)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
        camera.stalled = true
        let start = camera.monotonic
        while source.state != .offline("no frame for 2000 ms") && camera.monotonic - start < 10_000_000_000 {
            #expect(source.nextFrame(timeoutMilliseconds: 300) == nil)
        }
        #expect(source.state == .offline("no frame for 2000 ms"))
        #expect(camera.monotonic - start >= 2_000_000_000 && camera.monotonic - start < 2_400_000_000)
        #expect(source.counters.timeouts == 1)
        camera.stalled = false
        var frame: Frame?
        for _ in 0..<10 where frame == nil { frame = source.nextFrame(timeoutMilliseconds: 500) }
        #expect(frame != nil && source.counters.reopens == 1 && source.counters.timeouts == 1)
    }

    @Test func wouldBlockAfterAWakeUpIsNoError() throws {
        let camera = try standardCamera()
        camera.framesPerPoll = 0
        let source = try openSource(camera)
        camera.spuriousWakeups = 3
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        #expect(source.state == .online("MJPG 320x240 @ 30 fps"))
        camera.capture(1)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
    }

    @Test func interruptedCallsAreRetried() throws {
        let camera = try standardCamera()
        camera.interrupts = 3
        let source = try openSource(camera)
        camera.interrupts = 5
        let frame = source.nextFrame(timeoutMilliseconds: 100)
        #expect(frame != nil)
        #expect(camera.interruptsDelivered == 8)
        #expect(source.state == .online("MJPG 320x240 @ 30 fps"))
    }

    @Test func waitingForADeviceThatIsNotThereYet() throws {
        let camera = try standardCamera()
        camera.unplug()
        let source = try CameraSource(
            CameraConfiguration(path: camera.path, retryIntervalMilliseconds: 1000), system: System(camera), openNow: false)
        #expect(source.state == .starting)
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        #expect(source.state == .offline("no such device or file"))
        camera.replug()
        var frame: Frame?
        for _ in 0..<15 where frame == nil { frame = source.nextFrame(timeoutMilliseconds: 100) }
        #expect(frame != nil)
        #expect(source.counters.reopens == 0)
    }

    @Test func closeReleasesEverything() throws {
        let camera = try standardCamera()
        let recorder = Recorder()
        let source = try openSource(camera, recorder: recorder)
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
        source.close()
        source.close()
        #expect(recorder.states == [.finished])
        #expect(camera.openDescriptor == -1 && camera.mappings == 0 && camera.streamOffs == 1)
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
    }
}
