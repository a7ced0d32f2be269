import CAllocationCounter
import LavitPublisher
import LavitSystem
import Testing

/// `publish` runs on the frame thread at camera rate for weeks: it must not touch the heap. The
/// counter (Tests/CAllocationCounter) counts this thread's malloc calls only, so the publishing
/// thread, encoding and sending meanwhile, does not disturb the count.
@Suite struct PublisherAllocationTests {
    @Test func publishAllocatesNothing() throws {
        let path = temporarySocketPath("alloc")
        let publisher = try Publisher(socketPath: path, mode: 0o600, model: testModel, device: "/dev/video0", log: LogLines().logger)
        publisher.start()
        defer { publisher.stop() }
        let client = try TestClient(path)
        _ = try client.readMessage(ofClass: "hello")
        var prediction = Prediction(maxTopK: 5)
        fill(&prediction, 0)
        for seq in 0..<200 {
            prediction.sequence = UInt64(seq)
            publisher.publish(prediction)
        }
        lavit_alloc_count_reset()
        for seq in 200..<1200 {
            prediction.sequence = UInt64(seq)
            prediction.scores[0] = Double(seq) / 1200
            publisher.publish(prediction)
        }
        let allocations = lavit_alloc_count()
        #expect(allocations == 0, "\(allocations) allocations in 1000 publishes")
        // And the results were really sent: the last one reaches the client.
        var last: UInt64 = 0
        while last < 1199 { last = try client.readMessage(ofClass: "result").seq ?? 0 }
    }
}
