import FuzzDriver
import LavitPublisher

/// lavitd's client-command parser: one line from a local socket client.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    _ = ClientCommand.parse(input(data, size), maxTopK: 10)
    return 0
}
