import FuzzDriver
import LavitCheckpoint
import LavitModel

/// The torch `.pth` reader (zip, restricted unpickler, strided views), then the binding of its
/// tensors to the config it records, as `lavit-quantize` does.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(input(data, size))
    guard let checkpoint = try? Checkpoint.decode(bytes, name: "fuzz.pth"), let config = checkpoint.config,
        (try? config.validate()) != nil
    else { return 0 }
    _ = try? Weights(config: config, tensors: checkpoint.tensors)
    return 0
}
