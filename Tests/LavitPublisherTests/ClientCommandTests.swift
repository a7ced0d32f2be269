import LavitPublisher
import Testing

@Suite struct ClientCommandTests {
    func parse(_ text: String, maxTopK: Int = 5) -> Result<ClientCommand, CommandError> {
        ClientCommand.parse(Array(text.utf8), maxTopK: maxTopK)
    }

    @Test func everyCommand() {
        #expect(parse("?status") == .success(.status))
        #expect(parse("?hello") == .success(.hello))
        #expect(parse("?ping") == .success(.ping))
        #expect(parse("?ping\r") == .success(.ping))
        #expect(parse("?top=1") == .success(.top(1)))
        #expect(parse("?top=5") == .success(.top(5)))
        #expect(parse("?rate=0") == .success(.rate(milliHertz: 0)))
        #expect(parse("?rate=10") == .success(.rate(milliHertz: 10000)))
        #expect(parse("?rate=2.5") == .success(.rate(milliHertz: 2500)))
        #expect(parse("?rate=0.125") == .success(.rate(milliHertz: 125)))
        #expect(parse("?rate=1000") == .success(.rate(milliHertz: 1_000_000)))
    }

    @Test(arguments: ["?top=0", "?top=6", "?top=", "?top=-1", "?top=1x", "?top=99999999999999999999", "?top= 2"])
    func badTop(_ text: String) {
        #expect(parse(text) == .failure(.badArgument(.top, maximum: 5)))
    }

    @Test(arguments: ["?rate=", "?rate=-1", "?rate=1001", "?rate=1.2345", "?rate=.", "?rate=1.", "?rate=abc", "?rate=1e3"])
    func badRate(_ text: String) {
        #expect(parse(text) == .failure(.badArgument(.rate, maximum: ClientCommand.maximumRate)))
    }

    @Test(arguments: ["", "status", "?STATUS", "?status ", " ?status", "?statusx", "?watch", "?top", "?", "\r"])
    func unknown(_ text: String) {
        #expect(parse(text) == .failure(.unknown))
    }

    @Test func binaryBytesAreUnknownNotACrash() {
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0..<300 {
            var bytes: [UInt8] = []
            for _ in 0..<length {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: rng >> 56))
            }
            if case .success = ClientCommand.parse(bytes, maxTopK: 5) { Issue.record("random bytes parsed as a command: \(bytes)") }
        }
        #expect(ClientCommand.parse([0x3F, 0x74, 0x6F, 0x70, 0x3D, 0x00], maxTopK: 5) == .failure(.badArgument(.top, maximum: 5)))
    }
}
