import LavitCheckpoint
import LavitModel

enum ConfigTable {
    static func write(_ c: Config, to out: inout ReportWriter) {
        let image = c.imageSize.map(String.init).joined(separator: "x")
        out.line(
            "  input \(image)x\(c.inChans), \(c.numClasses) classes, patch \(c.patchSize), "
                + "attention residual \(c.attentionResidual ? "on" : "off"), ln_eps \(c.lnEps)")
        guard let stages = try? c.stageGeometry() else { return }
        let widths = [7, 7, 6, -5, -5, -5, -5, -3, -6]
        out.row(["  stage", "grid", "keys", "dim", "heads", "depth", "VA+LA", "sr", "hidden"], widths)
        for g in stages {
            out.row(
                [
                    "  \(g.index)", "\(g.height)x\(g.width)", "\(g.keyHeight)x\(g.keyWidth)", "\(g.dim)",
                    "\(g.heads)", "\(g.depth)", "\(g.numVA)+\(g.depth - g.numVA)", "\(g.srRatio)", "\(g.hidden)",
                ], widths)
        }
    }
}

/// The paper's Table (ImageNet-1K, 224 x 224); its "FLOPs" are MACs, as in PVT and fvcore.
enum PaperReference {
    static let table: [String: (params: Double, macs: Double)] = [
        "lavit-t": (10.9e6, 1.6e9),
        "lavit-s": (22.4e6, 3.3e9),
        "lavit-b": (39.6e6, 6.1e9),
    ]
}

enum CostTable {
    static func write(_ cost: Cost, config: Config, to out: inout ReportWriter) {
        out.line()
        let widths = [34, -10, -10]
        out.row(["layer", "params", "MACs"], widths)
        for row in cost.rows {
            out.row([row.name, Format.count(row.params), Format.count(row.macs)], widths)
        }
        out.row(["total", Format.count(cost.params), Format.count(cost.macs)], widths)
        if let paper = PaperReference.table[config.name], config == Config.variant(named: config.name) {
            let dp = Double(cost.params) / paper.params - 1
            let dm = Double(cost.macs) / paper.macs - 1
            out.row(
                [
                    "paper (\(config.name), MACs as FLOPs)", Format.count(Int(paper.params)),
                    Format.count(Int(paper.macs)),
                ], widths)
            out.line("difference from the paper: params \(Format.percent(dp)), MACs \(Format.percent(dm))")
        }
        out.line()
    }
}

enum TensorTable {
    static func write(_ ckpt: Checkpoint, to out: inout ReportWriter) {
        out.line("tensors (\(ckpt.tensors.count))")
        let widths = [48, 5, 20]
        for name in ckpt.tensorOrder {
            guard let t = ckpt.tensors[name] else { continue }
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            out.row(["  " + name, ckpt.storedDType[name] ?? "?", shape], widths)
        }
        out.line()
    }
}
