import LavitModel
import LavitModelFile

/// Float weights and calibration statistics to the int8 model file of `Tools/QUANT.md`: the one
/// place where floats become integers.
public enum Quantizer {
    /// `labels` must hold `num_classes` names; `sourceSHA256` is the float checkpoint's hash.
    public static func quantize(
        weights: Weights, stats: CalibrationStatistics, labels: [String], sourceSHA256: String
    ) throws(QuantizeError) -> ModelFileWriter {
        let config = weights.config
        guard labels.count == config.numClasses else {
            throw .labelCount(got: labels.count, expected: config.numClasses)
        }
        var graph = GraphBuilder(config: config, scales: ScaleTable(stats: stats))
        try graph.build(weights)
        let metadata = Metadata(
            lavitConfig: config, labels: labels,
            preprocess: .init(channels: config.inChans, height: config.imageSize[0], width: config.imageSize[1]),
            sourceSHA256: sourceSHA256,
            scales: graph.scales.chosen.mapValues { [$0.scale, Double($0.zeroPoint)] },
            logitScale: graph.logitScale)
        return try graph.tensors.writer(metadata: metadata)
    }
}

func doubles(_ t: Tensor) -> [Double] { t.data.map { Double($0) } }
