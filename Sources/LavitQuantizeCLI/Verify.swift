import ArgumentParser
import LavitInt8
import LavitModelFile

/// `lavit-quantize verify`: the checks the daemon makes at load time, plus one inference, so a
/// bad model file is caught before it is deployed.
public struct Verify: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Check an int8 model file: structure, checksum, every tensor the graph needs, one inference.")

    @Argument(help: "An int8 model file written by lavit-quantize.")
    var model: String

    public init() {}

    public func run() throws {
        print(try report(), terminator: "")
    }

    public func report() throws -> String {
        let file = try ModelFile.load(path: model)
        let engine = try Int8Engine(modelFile: file)
        let info = engine.model
        let grey = [UInt8](repeating: 128, count: info.inputByteCount)
        let logits = try grey.withUnsafeBufferPointer { image throws(Int8EngineError) in
            Array(try engine.infer(image: image))
        }
        var out = ReportWriter()
        out.line(
            "\(model): ok (\(info.config.name), \(file.tensors.count) tensors, "
                + "\(Format.count(file.tensors.reduce(0) { $0 + $1.byteCount }))B of weights, "
                + "arena \(Format.count(engine.arenaByteCount))B, \(logits.count) logits from a test frame)")
        return out.text
    }
}
