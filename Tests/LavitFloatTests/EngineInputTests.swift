import LavitFloat
import LavitModel
import Testing

@Suite struct EngineInputTests {
    @Test(arguments: [[3, 32, 31], [1, 3, 32, 32], [1, 32, 32], []])
    func wrongInputShapeThrows(shape: [Int]) throws {
        let engine = FloatEngine(weights: try Golden.weights("multi"))
        #expect(throws: FloatEngineError.inputShape(got: shape, expected: [3, 32, 32])) {
            try engine.forward(input: Tensor(zeros: shape))
        }
    }

    @Test func messageIsOneLine() {
        let message = FloatEngineError.inputShape(got: [3, 32, 31], expected: [3, 32, 32]).description
        #expect(message == "input shape [3, 32, 31] does not match the model's [3, 32, 32] (in_chans, H, W)")
    }
}
