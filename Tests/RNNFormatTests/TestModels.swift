@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Small models built in code for the tests.
enum TestModels {
    /// 5x6 image rows -> lstm(4, last) -> dense(3), in `dtype`.
    static func tiny(dtype: DType = .f32, withBHH: Bool = true) -> ModelFile {
        FixtureModels.tiny(dtype: dtype, bHH: withBHH)
    }

    /// A model with many provenance entries, to exercise canonical member order.
    static func withProvenance() -> ModelFile {
        var m = tiny()
        m.metadata.provenance = Provenance(
            producer: "tests", producerVersion: "0.1", createdAt: "2025-01-02T03:04:05Z", datasetName: "mnist",
            datasetSHA256: ["train-images": String(repeating: "ab", count: 32), "t10k-images": String(repeating: "cd", count: 32)],
            hyperparameters: (0..<20).reduce(into: [:]) { $0["hp\($1)"] = $1 % 2 == 0 ? .number(Double($1) / 8) : .string("v\($1)") },
            seed: UInt64.max,
            metrics: (0..<20).reduce(into: [:]) { $0["m\($1)"] = Double($1) * 0.1 })
        return m
    }
}

/// Runs `body` and returns the error class it throws, or nil if it succeeds.
func errorKind(_ body: () throws -> Void) -> ModelFormatError.Kind? {
    do { try body(); return nil } catch let error as ModelFormatError { return error.kind } catch { return .io }
}
