import FuzzDriver
import LavitCheckpoint
import LavitModel

/// The safetensors reader (header JSON, offsets, element types), then the binding of its
/// tensors to the config it records, as `lavit-quantize` does.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(input(data, size))
    guard let checkpoint = try? Checkpoint.decode(bytes, name: "fuzz.safetensors"), let config = checkpoint.config,
        (try? config.validate()) != nil
    else { return 0 }
    _ = try? Weights(config: config, tensors: checkpoint.tensors)
    return 0
}
