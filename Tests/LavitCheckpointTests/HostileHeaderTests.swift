import LavitModel
import Testing

@testable import LavitCheckpoint

/// Issue 11 case 6: a safetensors header can only make as much work as a model can need.
@Suite struct HostileHeaderTests {
    static func emptyTensors(_ count: Int) -> String {
        "{" + (0..<count).map { "\"t\($0)\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" }.joined(separator: ",") + "}"
    }

    @Test func headerOfAMillionEmptyTensorsIsRefusedByItsLength() {
        let file = safetensorsFile(header: Self.emptyTensors(800_000), data: [])
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            expectFailure(.malformed, ["g.safetensors", "header length", "exceeds the \(Safetensors.maxHeaderLength)-byte limit"]) {
                try Checkpoint.decode(file, name: "g.safetensors")
            }
        }
        #expect(elapsed < .seconds(1))
    }

    @Test func shortEntriesBeyondTheTensorLimitAreRefusedBeforeDecoding() {
        // `"tN":0` entries: small enough to pass the length limit, too many to be a model even
        // counting one as `__metadata__`.
        let count = Safetensors.maxTensors + 2
        let header = "{" + (0..<count).map { "\"t\($0)\":0" }.joined(separator: ",") + "}"
        #expect(header.utf8.count <= Safetensors.maxHeaderLength)
        let file = safetensorsFile(header: header, data: [])
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            expectFailure(.malformed, ["more than \(Safetensors.maxTensors) tensors"]) {
                try Checkpoint.decode(file, name: "n.safetensors")
            }
        }
        #expect(elapsed < .seconds(1))
    }

    @Test func memberCountSkipsStringsAndNesting() {
        let text = #"{"a,\"}{":{"x":[1,{"y":2}]}, "__metadata__":{"k":"v,"},"b":{}}"#
        let counted = Array(text.utf8).withUnsafeBytes { Safetensors.topLevelMemberCount($0, stopAfter: 100) }
        #expect(counted == 3)
        let stopped = Array(text.utf8).withUnsafeBytes { Safetensors.topLevelMemberCount($0, stopAfter: 2) }
        #expect(stopped == 2)
    }

    /// The bound covers every config the validation accepts: the largest tensor table per block
    /// and per stage, from the schema itself.
    @Test func tensorLimitCoversTheLargestConfig() throws {
        let config = Config(
            name: "wide", imageSize: [64, 64], inChans: 3, numClasses: 10, patchSize: 4, embedDims: [8, 8],
            depths: [2, Config.Limits.blocks - 2], numHeads: [1, 1], numVA: [1, 1], srRatios: [2, 2], mlpRatios: [1, 1],
            attentionResidual: false, lnEps: 1e-6, inputMean: [0, 0, 0], inputStd: [1, 1, 1])
        let schema = try ParameterSchema(config: config)
        #expect(schema.entries.count <= Config.Limits.parameterTensors)
        #expect(schema.entries.count > Config.Limits.parameterTensors - Config.Limits.stages * 10)
    }
}

/// JSON errors in a checkpoint say where, not just "not valid JSON".
@Suite struct CheckpointJSONMessageTests {
    @Test func headerSyntaxErrorNamesFileAndPosition() {
        let file = safetensorsFile(header: "{\"a\":{\"dtype\":\"F32\",,}}", data: [])
        expectFailure(.malformed, ["j.safetensors", "not valid JSON", "at byte 20 (line 1, column 21)"]) {
            try Checkpoint.decode(file, name: "j.safetensors")
        }
    }

    @Test func recordedConfigSyntaxErrorSaysWhere() throws {
        let header = #"{"__metadata__":{"lavit_config":"{\"name\": 1,,}"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let checkpoint = try Checkpoint.decode(safetensorsFile(header: header, data: [0, 0, 0, 0]), name: "c.safetensors")
        #expect(checkpoint.configError?.contains("not valid JSON") == true, "\(checkpoint.configError ?? "")")
        #expect(checkpoint.configError?.contains("(line 1, column 12)") == true, "\(checkpoint.configError ?? "")")
    }
}
