import Glibc
import LavitCapture
import LavitCaptureCLI
import LavitImage
import LavitFakes
import LavitSystem
import Testing

@Suite struct CaptureCommandTests {
    @Test func savesMJPEGFramesAsTheyCame() throws {
        let camera = try standardCamera()
        camera.jpegPadding = 5000
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let command = try CaptureCommand.parse([camera.path, directory + "/set", "--label", "cat", "--count", "3"])
        var lines: [String] = []
        let written = try command.run(system: System(camera)) { lines.append($0) }
        #expect(written == (1...3).map { directory + "/set/cat/cat-000\($0).jpg" })
        #expect(lines.first == "/dev/video0: MJPG 320x240 @ 30 fps")
        for path in written { #expect(try System.live.readFile(path, limit: 1 << 20) == camera.jpeg) }
        #expect(camera.openDescriptor == -1)

        // A second session continues the numbering.
        let more = try command.run(system: System(camera)) { _ in }
        #expect(more.first == directory + "/set/cat/cat-0004.jpg")
    }

    @Test func encodesYUYVFramesAtTheRequestedSize() throws {
        let camera = try standardCamera(formats: [FakeCamera.yuyv])
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let command = try CaptureCommand.parse([
            camera.path, directory, "--label", "dog", "--count", "2", "--width", "160", "--height", "120", "--interval-ms", "50",
        ])
        let written = try command.run(system: System(camera)) { _ in }
        #expect(written.count == 2)
        for path in written {
            let image = try ImageDecoder.decode(path: path)
            #expect(image.width == 160 && image.height == 120)
            // The pattern's top half has U = 90 (bluish is low), its bottom U = 200: check the
            // encode kept that, loosely.
            let top = image.pixels[(10 * 160 + 80) * 3 + 2]
            let bottom = image.pixels[(110 * 160 + 80) * 3 + 2]
            #expect(Int(bottom) - Int(top) > 100)
        }
    }

    @Test func refusesBadArgumentsAndExplainsDeviceErrors() throws {
        #expect(throws: (any Error).self) { try CaptureCommand.parse(["/dev/video0", "/tmp", "--label", "a/b", "--count", "1"]) }
        #expect(throws: (any Error).self) { try CaptureCommand.parse(["/dev/video0", "/tmp", "--label", "..", "--count", "1"]) }
        #expect(throws: (any Error).self) { try CaptureCommand.parse(["/dev/video0", "/tmp", "--label", "a", "--count", "0"]) }
        #expect(throws: (any Error).self) {
            try CaptureCommand.parse(["/dev/video0", "/tmp", "--label", "a", "--count", "1", "--width", "640"])
        }

        let camera = try standardCamera()
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let missing = try CaptureCommand.parse(["/dev/video9", directory, "--label", "a", "--count", "1"])
        #expect { try missing.run(system: System(camera)) { _ in } } throws: { "\($0)" == "/dev/video9: no such device or file" }
        camera.openError = EACCES
        let forbidden = try CaptureCommand.parse([camera.path, directory, "--label", "a", "--count", "1"])
        #expect { try forbidden.run(system: System(camera)) { _ in } } throws: {
            "\($0)" == "/dev/video0: permission denied (is the user in the video group?)"
        }
    }

    @Test func undecodableFramesAndSilenceStopTheCapture() throws {
        let camera = try standardCamera()
        camera.jpeg = try fixtureBytes("corrupt_entropy.jpg")
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        let command = try CaptureCommand.parse([camera.path, directory, "--label", "a", "--count", "1"])
        #expect { try command.run(system: System(camera)) { _ in } } throws: {
            "\($0)".hasPrefix("/dev/video0: 50 frames in a row do not decode; the last: bad JPEG")
        }
        camera.jpeg = try fixtureBytes("jpeg_420_37x29.jpg")
        camera.stalled = true
        #expect { try command.run(system: System(camera)) { _ in } } throws: { "\($0)" == "/dev/video0: no frame for 2000 ms" }
    }
}
