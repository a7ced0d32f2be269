import LavitCapture
import Glibc
import LavitFakes
import LavitSystem
import Testing

@Suite struct CameraNegotiationTests {
    @Test func mjpegPreferredAtTheSizeNearestAboveTheMinimum() throws {
        let camera = try standardCamera()
        let source = try openSource(camera)
        #expect(source.state == .online("MJPG 320x240 @ 30 fps"))
        #expect(source.name == "/dev/video0")
        #expect(camera.current.fourcc == FakeCamera.mjpeg)
        #expect(camera.buffers.count == 4)
        #expect(camera.mappings == 4)
    }

    @Test func yuyvWhenThereIsNoMJPEG() throws {
        let camera = try standardCamera(formats: [FakeCamera.yuyv])
        let source = try openSource(camera, size: .atLeast(width: 320, height: 240))
        #expect(source.state == .online("YUYV 320x240 @ 30 fps"))
    }

    @Test func largestWhenNoneIsLargeEnough() throws {
        let source = try openSource(try standardCamera(), size: .atLeast(width: 1920, height: 1080))
        #expect(source.state == .online("MJPG 640x480 @ 30 fps"))
    }

    @Test func explicitSize() throws {
        let camera = try standardCamera()
        let source = try openSource(camera, size: .exactly(width: 160, height: 120))
        #expect(source.state == .online("MJPG 160x120 @ 30 fps"))
        #expect { try openSource(try standardCamera(), size: .exactly(width: 800, height: 600)) } throws: {
            "\($0)" == "/dev/video0: MJPG 800x600 is not offered; sizes: 160x120, 320x240, 640x480"
        }
    }

    @Test func frameRateIsBestEffort() throws {
        let camera = try standardCamera()
        camera.maxFramesPerSecond = nil
        #expect(try openSource(camera).state == .online("MJPG 320x240"))
    }

    @Test func refusesOtherFormatsNamingThem() throws {
        let yu12: UInt32 = 0x3231_5559  // "YU12"
        let rgb3: UInt32 = 0x3342_4752  // "RGB3"
        let camera = FakeCamera(formats: [.init(fourcc: yu12, sizes: [(640, 480)]), .init(fourcc: rgb3, sizes: [(640, 480)])])
        #expect {
            try openSource(camera)
        } throws: { error in
            "\(error)" == "/dev/video0: offers YU12, RGB3; lavit needs MJPG or YUYV"
        }
        #expect(camera.openDescriptor == -1)
    }

    @Test func refusesDevicesThatCannotStream() throws {
        let camera = try standardCamera()
        camera.capabilities = 0x2  // VIDEO_OUTPUT only
        #expect {
            try openSource(camera)
        } throws: { error in
            "\(error)" == "/dev/video0: not a video capture device with streaming I/O (capabilities 0x2)"
        }
        #expect(camera.openDescriptor == -1)
    }

    @Test func missingAndForbiddenDevicesSaySo() throws {
        let camera = try standardCamera()
        camera.unplug()
        #expect { try openSource(camera) } throws: { "\($0)" == "/dev/video0: no such device or file" }
        camera.replug()
        camera.openError = EACCES
        #expect { try openSource(camera) } throws: {
            "\($0)" == "/dev/video0: permission denied (is the user in the video group?)"
        }
    }

    @Test func refusesImpossibleDriverAnswersAndLetsGoOfEverything() throws {
        let camera = try standardCamera()
        camera.grantedBufferCount = 1
        #expect { try openSource(camera) } throws: {
            "\($0)" == "/dev/video0: driver error: VIDIOC_REQBUFS gave 1 buffers for 4 requested"
        }
        #expect(camera.openDescriptor == -1)

        let yuyv = try standardCamera(formats: [FakeCamera.yuyv])
        yuyv.bufferLength = 1000
        #expect { try openSource(yuyv) } throws: {
            "\($0)" == "/dev/video0: driver error: buffer 0 is 1000 bytes; a YUYV 320x240 frame needs 153600"
        }
        #expect(yuyv.openDescriptor == -1 && yuyv.mappings == 0)
    }

    @Test func configurationIsCheckedBeforeTheDevice() throws {
        let camera = try standardCamera()
        #expect(throws: CaptureError.self) { try openSource(camera, bufferCount: 9) }
        #expect(throws: CaptureError.self) { try openSource(camera, size: .atLeast(width: 0, height: 10)) }
        #expect(camera.opens == 0)
    }
}
