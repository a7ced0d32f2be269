#if canImport(Glibc)
import Glibc
#endif
import LavitSystem
@testable import LavitClient
import Testing

@Suite struct RenderTests {
    @Test func resultLine() {
        let result = ResultMessage(seq: 1, mono_ns: 5, time: "2026-12-01T21:50:18.123Z", top: [.init(label: "Shirt", index: 6, score: 0.9312)])
        #expect(Render.result(result, fps: 12.44) == "21:50:18.123  Shirt 93.1%  (12.4 fps)")
        #expect(Render.result(result, fps: nil) == "21:50:18.123  Shirt 93.1%")
    }

    @Test func severalLabelsUnknownLabelAndDrops() {
        let result = ResultMessage(
            time: "2026-12-01T21:50:18.123Z",
            top: [.init(label: "Shirt", index: 6, score: 0.9312), .init(label: nil, index: 42, score: 0.04), .init(label: "Bag", index: 8, score: 0.0005)],
            dropped: 3)
        #expect(Render.result(result, fps: 30) == "21:50:18.123  Shirt 93.1%  #42 4.0%  Bag 0.1%  (30.0 fps)  [3 dropped]")
    }

    @Test func malformedTimeDoesNotCrash() {
        for time in [nil, "", "2026", "2026-12-01 21:50:18.123Z", "ééééééééééééééééééééééééé"] {
            #expect(Render.result(ResultMessage(time: time, top: []), fps: nil) == "--:--:--.---", "\(String(describing: time))")
        }
    }

    @Test func statusLines() throws {
        let online = try #require(decoded(#"{"class":"status","device":"/dev/video0","online":true,"reason":"streaming","fps":29.94,"frames":1234,"skipped":3,"corrupt":1,"reopens":0,"latency_ms":{"p50":12.06,"p90":14,"p99":20.349},"clients":2}"#))
        #expect(Render.status(online) == "status: /dev/video0 online (streaming), 29.9 fps, 1234 frames, 3 skipped, 1 corrupt, 0 reopens, latency p50/p90/p99 12.1/14.0/20.3 ms, 2 clients")
        let offline = try #require(decoded(#"{"class":"status","device":"/dev/video0","online":false,"reason":"no device","fps":0,"clients":1,"future_field":[1,2]}"#))
        #expect(Render.status(offline) == "status: /dev/video0 offline (no device), 0.0 fps, 0 frames, 0 skipped, 0 corrupt, 0 reopens, 1 client")
    }

    @Test func helloLine() throws {
        let message = DaemonMessage.decode(Array(#"{"class":"hello","protocol":1,"model":"lavit-fashion","model_sha256":"0123456789abcdef","labels":["a","b"],"input":{"width":28,"height":28,"channels":1},"device":"/dev/video0"}"#.utf8))
        guard case let .hello(hello) = message else {
            Issue.record("not a hello: \(String(describing: message))")
            return
        }
        #expect(Render.hello(hello) == "lavitd: model lavit-fashion (sha256 0123456789ab), 2 labels, input 28x28x1, device /dev/video0")
    }

    @Test func fpsFromConsecutiveMonotonicTimes() {
        #expect(Render.fps(previous: nil, current: 100) == nil)
        #expect(Render.fps(previous: 100, current: 100) == nil)
        #expect(Render.fps(previous: 200, current: 100) == nil)
        #expect(Render.fps(previous: 1_000_000_000, current: 1_080_000_000) == 12.5)
    }

    @Test func decodingIsTolerant() {
        #expect(DaemonMessage.decode(Array(#"{"class":"watch","x":1}"#.utf8)) == .other("watch"))
        #expect(DaemonMessage.decode(Array("not json".utf8)) == nil)
        #expect(DaemonMessage.decode([0xFF, 0x00]) == nil)
        #expect(DaemonMessage.decode(Array(#"{"no_class":1}"#.utf8)) == nil)
        #expect(DaemonMessage.decode(Array(#"{"class":"result","seq":"x"}"#.utf8)) == nil)
    }

    @Test func fixedRounding() {
        #expect(Render.fixed(93.125, 1) == "93.1")
        #expect(Render.fixed(0.05, 1) == "0.1")
        #expect(Render.fixed(-1.25, 1) == "-1.3")
        #expect(Render.fixed(7, 0) == "7")
        #expect(Render.fixed(.nan, 1) == "?")
    }

    func decoded(_ text: String) -> StatusMessage? {
        if case let .status(status) = DaemonMessage.decode(Array(text.utf8)) { return status }
        return nil
    }
}

@Suite struct ClientErrorTests {
    @Test func connectErrorsNameTheRemedy() {
        let path = "/run/lavitd/lavitd.sock"
        #expect(ClientError.connecting(path, Errno(ENOENT, call: "connect")).description == "lavitd is not running (no socket at /run/lavitd/lavitd.sock)")
        #expect(ClientError.connecting(path, Errno(ECONNREFUSED, call: "connect")) == .notRunning(path: path))
        #expect(ClientError.connecting(path, Errno(EACCES, call: "connect")).description == "permission denied on /run/lavitd/lavitd.sock: join group lavitd")
        #expect(ClientError.connecting(path, Errno(ENAMETOOLONG, call: "socket path")).description.hasPrefix("cannot connect to /run/lavitd/lavitd.sock: "))
    }

    @Test func commandLineValidation() throws {
        #expect(throws: (any Error).self) { try LavitClientCommand.parse(["--status", "--once"]) }
        #expect(throws: (any Error).self) { try LavitClientCommand.parse(["--count", "0"]) }
        #expect(throws: (any Error).self) { try LavitClientCommand.parse(["--top", "0"]) }
        let command = try LavitClientCommand.parse(["--socket", "/tmp/x.sock", "--top", "3", "--json", "--count", "2"])
        #expect(command.options.socketPath == "/tmp/x.sock" && command.options.top == 3 && command.options.json && command.options.resultLimit == 2)
        #expect(try LavitClientCommand.parse([]).options.socketPath == "/run/lavitd/lavitd.sock")
    }
}

@Suite struct HostileTextTests {
    @Test func controlCharactersFromTheSocketArePrintedEscaped() {
        let result = ResultMessage(
            seq: 1, time: "2026-12-01T21:50:18.123Z",
            top: [.init(label: "Shirt\n\u{1B}[31mError: forged", index: 6, score: 0.5)],
            file: "/data/images/7_Sneaker/\u{7}12.png")
        let line = Render.result(result, fps: nil)
        #expect(line == "21:50:18.123  Shirt\\n\\u{1B}[31mError: forged 50.0%  7_Sneaker/\\u{07}12.png")
        #expect(!line.contains("\n"))
    }
}
