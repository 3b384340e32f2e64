import Foundation

/// The results of bench/compare_cnn.py (schema `rnn-compare/1`): PyTorch-trained CNN and LSTM
/// variants measured on the same data with the same optimizer settings.
package struct Comparison: Sendable, Equatable {
    /// The run settings, e.g. `torch 2.13.0+cpu`, `epochs 3`, `Adam lr 0.001, batch 128`.
    package var settings: [String: String]
    package var runs: [ComparisonRun]
    /// True when produced with `--quick` (1 epoch on a subset): numbers are for smoke tests only.
    package var quick: Bool

    package init(settings: [String: String] = [:], runs: [ComparisonRun], quick: Bool = false) {
        self.settings = settings
        self.runs = runs
        self.quick = quick
    }

    /// The run of `key` (e.g. "cnn", "lstm-128") on `dataset` ("mnist", "fashion-mnist").
    package func run(_ key: String, dataset: String = "mnist") -> ComparisonRun? {
        runs.first { $0.key == key && $0.dataset == dataset }
    }

    /// Decodes the JSON written by bench/compare_cnn.py. Unknown members are ignored; missing
    /// measurements become `nil`.
    ///
    /// - Throws: ``ReportError/invalidComparison(detail:)`` when the text is not JSON, the schema
    ///   is not `rnn-compare/1`, or a run lacks its `key`, `name` or `dataset`.
    package static func decode(json data: Data) throws(ReportError) -> Comparison {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidComparison(detail: "expected a JSON object at the top level")
        }
        let schema = root["schema"] as? String
        guard schema == "rnn-compare/1" else {
            throw .invalidComparison(detail: "expected schema 'rnn-compare/1', found '\(schema ?? "none")'")
        }
        guard let runList = root["runs"] as? [[String: Any]] else {
            throw .invalidComparison(detail: "expected an array 'runs' of objects")
        }
        var settings: [String: String] = [:]
        for (key, value) in (root["settings"] as? [String: Any]) ?? [:] {
            settings[key] = stringValue(value)
        }
        var runs: [ComparisonRun] = []
        for (index, object) in runList.enumerated() {
            guard let key = object["key"] as? String, let name = object["name"] as? String,
                  let dataset = object["dataset"] as? String else {
                throw .invalidComparison(detail: "runs[\(index)]: expected string members 'key', 'name' and 'dataset'")
            }
            var run = ComparisonRun(key: key, name: name, dataset: dataset)
            run.family = object["family"] as? String ?? (key.hasPrefix("cnn") ? "cnn" : "rnn")
            run.architecture = object["architecture"] as? String
            run.parameters = int(object["parameters"])
            run.float32Bytes = int(object["float32_bytes"])
            run.zstdBytes = int(object["zstd_bytes"])
            run.testAccuracy = double(object["test_accuracy"])
            run.trainSecondsPerEpoch = double(object["train_seconds_per_epoch"])
            run.trainedEpochs = int(object["trained_epochs"])
            for epoch in (object["epochs"] as? [[String: Any]]) ?? [] {
                guard let number = int(epoch["epoch"]) else { continue }
                run.epochs.append(ComparisonRun.Epoch(epoch: number, testAccuracy: double(epoch["test_accuracy"]),
                                                      trainLoss: double(epoch["train_loss"]), seconds: double(epoch["seconds"])))
            }
            for entry in (object["inference"] as? [[String: Any]]) ?? [] {
                guard let threads = int(entry["threads"]), let batch = int(entry["batch"]),
                      let rate = double(entry["images_per_second"]) else { continue }
                run.inference.append(ComparisonRun.Inference(threads: threads, batch: batch, imagesPerSecond: rate))
            }
            runs.append(run)
        }
        return Comparison(settings: settings, runs: runs, quick: root["quick"] as? Bool ?? false)
    }
}

/// One model trained and measured by bench/compare_cnn.py.
package struct ComparisonRun: Sendable, Equatable {
    /// Test accuracy after one epoch.
    package struct Epoch: Sendable, Equatable {
        package var epoch: Int
        package var testAccuracy: Double?
        package var trainLoss: Double?
        package var seconds: Double?
    }

    /// Inference throughput at one batch size and thread count.
    package struct Inference: Sendable, Equatable {
        package var threads: Int
        package var batch: Int
        package var imagesPerSecond: Double
    }

    /// Stable identifier: "cnn", "lstm-128" (the course model), "lstm-64", "lstm-256", "lstm-2x128", "lstm-128-columns".
    package var key: String
    /// Display name.
    package var name: String
    package var dataset: String
    /// "cnn" or "rnn".
    package var family: String = "rnn"
    package var architecture: String?
    package var parameters: Int?
    package var float32Bytes: Int?
    package var zstdBytes: Int?
    /// Final test accuracy, fraction in 0...1.
    package var testAccuracy: Double?
    package var trainSecondsPerEpoch: Double?
    /// Epochs trained (the variants may train fewer than the CNN and the course LSTM).
    package var trainedEpochs: Int?
    package var epochs: [Epoch] = []
    package var inference: [Inference] = []

    package init(key: String, name: String, dataset: String) {
        self.key = key
        self.name = name
        self.dataset = dataset
    }

    /// Test accuracy after `epoch`, if recorded.
    package func accuracy(afterEpoch epoch: Int) -> Double? {
        epochs.first { $0.epoch == epoch }?.testAccuracy
    }

    /// The number of epochs behind ``testAccuracy``.
    package var epochCount: Int? { trainedEpochs ?? epochs.map(\.epoch).max() }

    /// Images per second at `batch` on `threads` threads, if measured.
    package func imagesPerSecond(batch: Int, threads: Int) -> Double? {
        inference.first { $0.batch == batch && $0.threads == threads }?.imagesPerSecond
    }
}

private func double(_ value: Any?) -> Double? {
    guard let number = value as? NSNumber else { return nil }
    return number.doubleValue.isFinite ? number.doubleValue : nil
}

private func int(_ value: Any?) -> Int? {
    guard let d = double(value), d.rounded() == d, abs(d) < 1e15 else { return nil }
    return Int(d)
}

private func stringValue(_ value: Any) -> String {
    if let s = value as? String { return s }
    if let n = value as? NSNumber { return n.stringValue }
    if let array = value as? [Any] { return array.map(stringValue).joined(separator: ", ") }
    return String(describing: value)
}
