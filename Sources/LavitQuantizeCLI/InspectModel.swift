#if canImport(Glibc)
import Glibc
#endif
import LavitInt8
import LavitModel
import LavitModelFile
import LavitSystem

/// The `inspect` report for an int8 model file: what the daemon will run and how it was made.
enum ModelFileReport {
    static func render(path: String, listTensors: Bool) throws -> String {
        let file = try ModelFile.load(path: path)
        let model = try Int8Model(modelFile: file)
        var out = ReportWriter()
        out.line("model       \(path) (lavit int8 model file v\(ModelFile.formatVersion), QUANT.md quant_version \(Int8Model.quantVersion))")
        out.line("config      \(model.config.name) (from model metadata)")
        ConfigTable.write(model.config, to: &out)
        let p = model.preprocess
        out.line(
            "input       \(p.height)x\(p.width), \(p.channels == 1 ? "luma" : "RGB") uint8, \(p.crop) crop")
        out.line("labels      \(model.labels.count): \(model.labels.prefix(10).joined(separator: ", "))"
            + (model.labels.count > 10 ? ", ..." : ""))
        out.line("source      sha256 \(model.sourceSHA256)")
        let bytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        out.line("tensors     \(file.tensors.count), \(Format.count(bytes))B; arena \(Format.count(model.arenaByteCount))B")
        let cost = try Cost(config: model.config)
        out.line("cost        \(Format.count(cost.params)) params, \(Format.count(cost.macs)) MACs per frame")
        if listTensors {
            out.line()
            let widths = [52, 4, 20]
            for t in file.tensors {
                out.row(["  " + t.name, "\(t.dtype)", "[" + t.shape.map(String.init).joined(separator: ", ") + "]"], widths)
            }
        }
        return out.text
    }

    /// Model files start with this magic; anything else is treated as a float checkpoint.
    static func isModelFile(_ path: String) -> Bool {
        // Through the system layer, which opens without blocking and refuses FIFOs and devices:
        // a bare open(2) of a FIFO waits for a writer forever.
        let system = System.live
        guard let (fd, _) = try? system.openRegularFile(path) else { return false }
        defer { system.close(fd) }
        var magic = [UInt8](repeating: 0, count: 8)
        let n = magic.withUnsafeMutableBytes { (try? system.readFully(fd, into: $0)) ?? 0 }
        return n == 8 && magic == Array("LAVITQ8\0".utf8)
    }
}
