/// Bad input to a forward pass; the model itself was checked when its `Weights` were bound.
public enum FloatEngineError: Error, Equatable, Sendable, CustomStringConvertible {
    case inputShape(got: [Int], expected: [Int])

    public var description: String {
        switch self {
        case .inputShape(let got, let expected):
            "input shape \(got) does not match the model's \(expected) (in_chans, H, W)"
        }
    }
}
