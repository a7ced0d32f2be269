import LavitFakes
import Glibc
import LavitCapture
import LavitImage
import LavitSystem
import Testing

@Suite struct FileSourceTests {
    /// Three fixture images (two JPEG, one PNG) and a text file that must be ignored.
    static func imageDirectory() throws -> String {
        let directory = try temporaryDirectory()
        try writeFile(directory + "/b.jpg", try fixtureBytes("jpeg_420_37x29.jpg"))
        try writeFile(directory + "/a.PNG", try fixtureBytes("fashion_28x28.png"))
        try writeFile(directory + "/c.jpeg", try fixtureBytes("jpeg_444_33x21.jpg"))
        try writeFile(directory + "/notes.txt", Array("not an image".utf8))
        return directory
    }

    @Test func loopsOverADirectoryAtTheRateForTheCount() throws {
        let directory = try Self.imageDirectory()
        defer { removeTree(directory) }
        let source = try FileSource(directory, framesPerSecond: 50, count: 5)
        #expect(source.name == "\(directory) (3 files)")
        #expect(source.paths == [directory + "/a.PNG", directory + "/b.jpg", directory + "/c.jpeg"])
        let start = System.live.monotonicNanoseconds()
        var frames: [[UInt8]] = []
        while let frame = source.nextFrame(timeoutMilliseconds: 1000) {
            #expect(frame.sequence == UInt64(frames.count) && frame.skipped == 0)
            frames.append(bytes(of: frame))
            source.releaseFrame()
        }
        let elapsed = System.live.monotonicNanoseconds() - start
        #expect(frames.count == 5)
        #expect(source.state == .finished)
        // Five frames at 50 fps: four periods of 20 ms between them.
        #expect(elapsed >= 75_000_000 && elapsed < 2_000_000_000)
        #expect(frames[0] == (try fixtureBytes("fashion_28x28.png")))
        #expect(frames[3] == frames[0])
        #expect(try ImageDecoder.decode(bytes: frames[2]).width == 33)
        #expect(source.nextFrame(timeoutMilliseconds: 10) == nil)
    }

    /// Without `loop`, one pass: each file once, then finished, whatever `count` asks beyond.
    @Test func withoutLoopEachFileComesOnce() throws {
        let directory = try Self.imageDirectory()
        defer { removeTree(directory) }
        for count in [0, 7] {
            let source = try FileSource(directory, framesPerSecond: 0, count: count, loop: false)
            var files: [String] = []
            while let frame = source.nextFrame(timeoutMilliseconds: 1000) {
                files.append(frame.file ?? "")
                source.releaseFrame()
            }
            #expect(files == source.paths)
            #expect(source.state == .finished)
        }
    }

    @Test func aShortTimeoutReturnsBeforeTheNextFrameIsDue() throws {
        let directory = try Self.imageDirectory()
        defer { removeTree(directory) }
        let source = try FileSource(directory, framesPerSecond: 2)
        #expect(source.nextFrame(timeoutMilliseconds: 10) != nil)
        #expect(source.nextFrame(timeoutMilliseconds: 10) == nil)
        #expect(source.state == .online("3 files at 2.0 fps"))
    }

    @Test func globPatterns() throws {
        let directory = try Self.imageDirectory()
        defer { removeTree(directory) }
        let source = try FileSource(directory + "/*.jp*g", framesPerSecond: 0, count: 3)
        #expect(source.paths == [directory + "/b.jpg", directory + "/c.jpeg"])
        #expect(try FileSource(directory + "/b.jpg", framesPerSecond: 0).paths == [directory + "/b.jpg"])
        #expect { try FileSource(directory + "/*.gif", framesPerSecond: 0) } throws: {
            "\($0)" == "\(directory)/*.gif: the pattern matches no files"
        }
    }

    @Test func emptyOrMissingSourcesAreRefused() throws {
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        #expect { try FileSource(directory, framesPerSecond: 10) } throws: {
            "\($0)" == "\(directory): no .jpg, .jpeg or .png files in this directory"
        }
        #expect { try FileSource(directory + "/missing", framesPerSecond: 10) } throws: {
            "\($0)" == "\(directory)/missing: no such file or directory"
        }
        #expect(throws: CaptureError.self) { try FileSource(directory, framesPerSecond: -1) }
    }

    @Test func aFileThatVanishesIsSkippedAndCounted() throws {
        let directory = try Self.imageDirectory()
        defer { removeTree(directory) }
        let source = try FileSource(directory, framesPerSecond: 0)
        unlink(directory + "/b.jpg")
        #expect(source.nextFrame(timeoutMilliseconds: 100) != nil)
        let frame = try #require(source.nextFrame(timeoutMilliseconds: 100))
        #expect(frame.skipped == 1)
        #expect(try ImageDecoder.decode(bytes: bytes(of: frame)).width == 33)
        #expect(source.counters == CaptureCounters(frames: 2, skipped: 1))

        for name in ["a.PNG", "c.jpeg"] { unlink(directory + "/" + name) }
        #expect(source.nextFrame(timeoutMilliseconds: 100) == nil)
        guard case let .offline(reason) = source.state else { throw TestFailure(description: "\(source.state)") }
        #expect(reason.hasPrefix("none of the 3 files could be read"))
    }
}
