import RNNCore
import RNNRuntime
import Testing

/// RNNRuntime's ``Benchmark`` on the inputs `rnn-infer bench` gives it. Times are only checked to be
/// plausible (positive, ordered percentiles), never against a bound: the machine may be busy.
@Suite struct BenchmarkTests {
    @Test func streamStepLatencyTimesEveryStepOfAStreamableModel() throws {
        let image = randomModel(height: 6, width: 5, layers: [.lstm(hidden: 12, returns: .last), .dense(out: 3, activation: .none)], seed: 41)
        var rng = SplitMix64(seed: 42)
        let pixels = rng.bytes(4 * 30)
        let rows = try pixels.withUnsafeBufferPointer { all throws(RuntimeError) in
            try Benchmark.streamStepLatency(try Model(image), input: .pixels(all), steps: 300, warmUp: 10, options: ClassifyOptions())
        }
        let features = randomModel(height: 0, width: 0, layers: [.gru(hidden: 16, returns: .last), .dense(out: 4, activation: .none)],
                                   seed: 43, features: FeatureInputSpec(width: 6, maxLength: 9))
        let values = (0..<(3 * 9 * 6)).map { _ in rng.uniform(2) }
        let steps = try values.withUnsafeBufferPointer { all throws(RuntimeError) in
            try Benchmark.streamStepLatency(try Model(features), input: .features(all), steps: 300, warmUp: 10,
                                            options: ClassifyOptions(kernel: .portable))
        }
        for latency in [rows, steps] {
            #expect(latency.seconds.count == 300)
            #expect(latency.seconds.allSatisfy { $0 > 0 && $0.isFinite })
            #expect(latency.percentile(0.5) <= latency.percentile(0.99))
            #expect(latency.imagesPerSecond > 0)
        }
    }

    @Test func streamStepLatencyRefusesABidirectionalModel() throws {
        let file = randomModel(height: 0, width: 0, layers: [.gru(hidden: 8, returns: .last, bidirectional: true), .dense(out: 3, activation: .none)],
                               seed: 44, features: FeatureInputSpec(width: 4, maxLength: 5))
        let values = [Float](repeating: 0.5, count: 2 * 5 * 4)
        do {
            _ = try values.withUnsafeBufferPointer { all throws(RuntimeError) in
                try Benchmark.streamStepLatency(try Model(file), input: .features(all), steps: 10, options: ClassifyOptions())
            }
            Issue.record("a bidirectional model was streamed")
        } catch {
            guard case .notStreamable = error else { Issue.record("expected notStreamable, got \(error)"); return }
        }
    }

    @Test func featureModelsRunThroughputAndBatchOneLatency() throws {
        let file = randomModel(height: 0, width: 0, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 3, activation: .none)],
                               seed: 45, features: FeatureInputSpec(width: 4, maxLength: 7))
        let model = try Model(file)
        var rng = SplitMix64(seed: 46)
        let values = (0..<(10 * 7 * 4)).map { _ in rng.uniform(2) }
        try values.withUnsafeBufferPointer { all throws(RuntimeError) in
            let latency = try Benchmark.latency(model, input: .features(all), count: 50, options: ClassifyOptions())
            #expect(latency.seconds.count == 10)
            let row = try Benchmark.throughput(model, input: .features(all), batchSize: 4, repeats: 3, options: ClassifyOptions(threads: 2))
            #expect(row.images == 10 && row.batchSize == 4 && row.imagesPerSecond > 0)
        }
    }

    /// Text models: the texts' token ids, one call per text for the latency, `batchSize` texts per
    /// call for the throughput; a text model cannot stream.
    @Test func textModelsRunThroughputAndBatchOneLatency() throws {
        let model = try Model(contentsOf: CLIHardeningTests.fixtureModel("text-tiny.rnnm"))
        let encoder = try #require(model.encoder)
        // Lengths 0 ... 12: empty texts and texts longer than max_length (8), which are truncated.
        let texts = (0..<13).map { n in (0..<n).map { ["the", "movie", "great", "bad", "café", "unseen"][$0 % 6] }.joined(separator: " ") }
        let ids = texts.map(encoder.tokenIDs)
        try ids.withUnsafeBufferPointer { all throws(RuntimeError) in
            let latency = try Benchmark.latency(model, input: .tokens(all), count: 50, options: ClassifyOptions())
            #expect(latency.seconds.count == 13 && latency.seconds.allSatisfy { $0 > 0 && $0.isFinite })
            let row = try Benchmark.throughput(model, input: .tokens(all), batchSize: 5, repeats: 3, options: ClassifyOptions(threads: 2))
            #expect(row.images == 13 && row.batchSize == 5 && row.imagesPerSecond > 0)
            do throws(RuntimeError) {
                _ = try Benchmark.streamStepLatency(model, input: .tokens(all), steps: 10, options: ClassifyOptions())
                Issue.record("a text model was streamed")
            } catch {
                guard case .notStreamable = error else { Issue.record("expected notStreamable, got \(error)"); return }
            }
        }
    }
}
