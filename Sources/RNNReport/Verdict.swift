/// The answer to the course question, one line per aspect: can an RNN solve the task, and does
/// it beat a CNN on accuracy, size and speed?
package struct VerdictItem: Sendable, Equatable {
    /// "Solves the task?", "Accuracy", "Model size", "Inference speed", "Training time".
    package var aspect: String
    /// The RNN's figure, e.g. "98.72%".
    package var rnn: String
    /// The CNN's figure, or "" when there is no comparison.
    package var cnn: String
    /// The one-line answer, e.g. "CNN better by 0.4 points".
    package var answer: String
    /// True when the RNN wins (or ties), false when the CNN wins, nil when not compared.
    package var rnnWins: Bool?
}

package enum Verdict {
    /// The verdict items that the measurements in `input` support.
    ///
    /// The RNN side is the course LSTM ("lstm-128") of the comparison where there is one (same
    /// framework, same epochs as the CNN: a fair race), and the Swift model's own test accuracy
    /// otherwise. Speed compares the frameworks' best single-thread throughput at batch 10,000.
    package static func derive(_ input: ReportInput) -> [VerdictItem] {
        if let cnn = input.cnn { return measured(rnn: input.measuredRNN, cnn: cnn) }
        var items: [VerdictItem] = []
        let key = input.datasetKey
        let cnn = input.comparison?.run("cnn", dataset: key)
        let lstm = input.comparison?.run("lstm-128", dataset: key)

        if let evaluation = input.evaluation {
            let solved = evaluation.accuracy >= 0.97
            items.append(VerdictItem(
                aspect: "Solves the task?", rnn: Format.percent(evaluation.accuracy), cnn: "",
                answer: solved ? "Yes: \(Format.grouped(evaluation.errorCount)) errors in \(Format.grouped(evaluation.confusion.total)) unseen test images"
                               : "Partly: \(Format.grouped(evaluation.errorCount)) errors in \(Format.grouped(evaluation.confusion.total)) test images",
                rnnWins: nil))
        }
        guard let cnn else { return items }

        if let c = cnn.testAccuracy, let r = lstm?.testAccuracy {
            let points = (r - c) * 100
            let tie = abs(points) < 0.1
            items.append(VerdictItem(
                aspect: "Accuracy (\(lstm?.epochCount.map { "\($0) epoch\($0 == 1 ? "" : "s")" } ?? "same epochs") each)", rnn: Format.percent(r), cnn: Format.percent(c),
                answer: tie ? "A tie (within 0.1 points)" : (points > 0 ? "RNN better by \(Format.fixed(points, 2)) points" : "CNN better by \(Format.fixed(-points, 2)) points"),
                rnnWins: tie ? true : points > 0))
        }
        if let c = cnn.parameters, let r = lstm?.parameters ?? (input.model.parameterCount > 0 ? input.model.parameterCount : nil) {
            let ratio = Double(r) / Double(max(c, 1))
            // Four bytes per float32 parameter: the size of the raw weights, before any file format.
            items.append(VerdictItem(
                aspect: "Model size", rnn: "\(Format.grouped(r)) params (\(Format.bytes(4 * r)))",
                cnn: "\(Format.grouped(c)) params (\(Format.bytes(4 * c)))",
                answer: ratio > 1 ? "CNN \(Format.fixed(ratio, 1))x smaller" : "RNN \(Format.fixed(1 / ratio, 1))x smaller",
                rnnWins: ratio <= 1))
        }
        let cnnRate = cnn.imagesPerSecond(batch: 10_000, threads: 1)
        let rnnTorchRate = lstm?.imagesPerSecond(batch: 10_000, threads: 1)
        let swiftRate = input.speeds.first { $0.batchSize == 10_000 && $0.threads == 1 }?.imagesPerSecond
        if let c = cnnRate, let r = [rnnTorchRate, swiftRate].compactMap({ $0 }).max() {
            let ratio = r / c
            let who = (swiftRate ?? 0) >= (rnnTorchRate ?? 0) ? "Swift runtime" : "PyTorch"
            items.append(VerdictItem(
                aspect: "Inference speed (batch 10,000, 1 thread)", rnn: Format.compact(r) + " img/s (\(who))", cnn: Format.compact(c) + " img/s",
                answer: ratio >= 1 ? "RNN \(Format.fixed(ratio, 1))x faster" : "CNN \(Format.fixed(1 / ratio, 1))x faster",
                rnnWins: ratio >= 1))
        }
        if let c = cnn.trainSecondsPerEpoch, let r = lstm?.trainSecondsPerEpoch {
            let ratio = r / c
            items.append(VerdictItem(
                aspect: "Training time per epoch", rnn: Format.fixed(r, 1) + " s", cnn: Format.fixed(c, 1) + " s",
                answer: ratio > 1 ? "CNN \(Format.fixed(ratio, 1))x faster to train" : "RNN \(Format.fixed(1 / ratio, 1))x faster to train",
                rnnWins: ratio <= 1))
        }
        return items
    }
}

extension Verdict {
    /// The answer from two models measured in the same run, by the same trainer, runtime and method
    /// (`rnn-report --cnn-model`): one row per aspect of the course question.
    package static func measured(rnn: MeasuredModel, cnn: MeasuredModel) -> [VerdictItem] {
        var items: [VerdictItem] = []
        if let r = rnn.testAccuracy, let c = cnn.testAccuracy {
            let points = (r - c) * 100
            let tie = abs(points) < 0.1
            items.append(VerdictItem(
                aspect: "Test accuracy", rnn: Format.percent(r), cnn: Format.percent(c),
                answer: tie ? "A tie (within 0.1 points)" : (points > 0 ? "RNN better by \(Format.fixed(points, 2)) points" : "CNN better by \(Format.fixed(-points, 2)) points"),
                rnnWins: tie ? true : points > 0))
        }
        if rnn.parameters > 0 && cnn.parameters > 0 {
            let ratio = Double(rnn.parameters) / Double(cnn.parameters)
            items.append(VerdictItem(
                aspect: "Parameters", rnn: Format.grouped(rnn.parameters), cnn: Format.grouped(cnn.parameters),
                answer: ratio > 1 ? "CNN \(Format.fixed(ratio, 1))x fewer" : "RNN \(Format.fixed(1 / ratio, 1))x fewer", rnnWins: ratio <= 1))
        }
        for dtype in ["f32", "int8"] {
            guard let r = rnn.size(dtype), let c = cnn.size(dtype) else { continue }
            let ratio = Double(r.fileBytes) / Double(max(c.fileBytes, 1))
            let accuracy = { (row: SizeRow) in row.testAccuracy.map { " (\(Format.percent($0)))" } ?? "" }
            items.append(VerdictItem(
                aspect: "File size, \(dtype)", rnn: Format.bytes(r.fileBytes) + (dtype == "f32" ? "" : accuracy(r)),
                cnn: Format.bytes(c.fileBytes) + (dtype == "f32" ? "" : accuracy(c)),
                answer: ratio > 1 ? "CNN \(Format.fixed(ratio, 1))x smaller" : "RNN \(Format.fixed(1 / ratio, 1))x smaller", rnnWins: ratio <= 1))
        }
        if let r = rnn.trainSeconds, let c = cnn.trainSeconds {
            let epochs = { (m: MeasuredModel) in m.epochs.map { " (\($0) epochs)" } ?? "" }
            let ratio = r / max(c, 1e-9)
            items.append(VerdictItem(
                aspect: "Training time", rnn: Format.fixed(r, 1) + " s" + epochs(rnn), cnn: Format.fixed(c, 1) + " s" + epochs(cnn),
                answer: ratio > 1 ? "CNN \(Format.fixed(ratio, 1))x faster to train" : "RNN \(Format.fixed(1 / ratio, 1))x faster to train",
                rnnWins: ratio <= 1))
        }
        for batch in [1, 10_000] {
            guard let r = rnn.rate(batch: batch), let c = cnn.rate(batch: batch) else { continue }
            let ratio = r.imagesPerSecond / c.imagesPerSecond
            let threads = { (row: SpeedRow) in " (\(row.threads) thread\(row.threads == 1 ? "" : "s"))" }
            items.append(VerdictItem(
                aspect: "Images/s, batch \(Format.grouped(batch))", rnn: Format.compact(r.imagesPerSecond) + threads(r),
                cnn: Format.compact(c.imagesPerSecond) + threads(c),
                answer: ratio >= 1 ? "RNN \(Format.fixed(ratio, 1))x faster" : "CNN \(Format.fixed(1 / ratio, 1))x faster", rnnWins: ratio >= 1))
        }
        return items
    }
}

/// Sentences derived from the measurements, shown before the caller's own findings.
package enum Findings {
    package static func derive(_ input: ReportInput) -> [String] {
        var out: [String] = []
        let names = input.classNames
        if let evaluation = input.evaluation {
            let metrics = evaluation.confusion.classMetrics()
            if let weakest = metrics.filter({ $0.recall != nil }).min(by: { $0.recall! < $1.recall! }),
               let best = metrics.filter({ $0.recall != nil }).max(by: { $0.recall! < $1.recall! }) {
                out.append("Hardest class: \(className(weakest.classIndex, names)) (recall \(Format.percent(weakest.recall!, 1))); easiest: \(className(best.classIndex, names)) (recall \(Format.percent(best.recall!, 1))).")
            }
            let pairs = evaluation.confusion.mostConfusedPairs(limit: 3)
            if !pairs.isEmpty {
                let text = pairs.map { "\(className($0.truth, names)) read as \(className($0.predicted, names)) (\($0.count)x)" }.joined(separator: ", ")
                out.append("Most frequent mistakes: \(text).")
            }
            if evaluation.errorCount > 0 {
                let sure = evaluation.truth.indices.filter {
                    evaluation.truth[$0] != evaluation.predicted[$0] && evaluation.confidence[$0] >= 0.9
                }.count
                out.append("\(Format.grouped(sure)) of the \(Format.grouped(evaluation.errorCount)) mistakes were made with at least 90% confidence.")
            }
        }
        if let log = input.runLog, let last = log.epochs.last, let train = last.trainAccuracy, let validation = last.validationAccuracy {
            let gap = (train - validation) * 100
            out.append("After \(last.epoch) epoch\(last.epoch == 1 ? "" : "s") training accuracy is \(Format.percent(train)) and validation \(Format.percent(validation)) (gap \(Format.fixed(gap, 2)) points)" +
                       (gap > 1 ? ": some overfitting." : ": no sign of overfitting."))
        }
        if let f32 = input.sizes.first(where: { $0.dtype == "f32" }) {
            for row in input.sizes where row.dtype != "f32" {
                var sentence = "\(row.dtype): \(Format.bytes(row.fileBytes)), \(Format.fixed(Double(f32.fileBytes) / Double(max(row.fileBytes, 1)), 1))x smaller than f32"
                if let a = row.testAccuracy, let b = f32.testAccuracy {
                    let delta = (a - b) * 100
                    sentence += abs(delta) < 0.005 ? " at the same accuracy" : ", accuracy \(delta >= 0 ? "+" : "")\(Format.fixed(delta, 2)) points"
                }
                out.append(sentence + ".")
            }
        }
        if let comparison = input.comparison {
            let key = input.datasetKey
            // Variants may train fewer epochs: rank them by their epoch-1 accuracy (constant learning rate).
            let lstm = comparison.runs.filter { $0.dataset == key && $0.family != "cnn" && $0.accuracy(afterEpoch: 1) != nil }
            if let best = lstm.max(by: { $0.accuracy(afterEpoch: 1)! < $1.accuracy(afterEpoch: 1)! }), lstm.count > 1 {
                out.append("Best RNN after one epoch: \(best.name) at \(Format.percent(best.accuracy(afterEpoch: 1)!))" +
                           (best.parameters.map { " with \(Format.grouped($0)) parameters" } ?? "") + ".")
            }
            if let columns = comparison.run("lstm-128-columns", dataset: key)?.accuracy(afterEpoch: 1),
               let rows = comparison.run("lstm-128", dataset: key)?.accuracy(afterEpoch: 1) {
                out.append("Reading columns instead of rows, after one epoch: \(Format.percent(columns)) against \(Format.percent(rows)).")
            }
            if let c = comparison.run("cnn", dataset: "fashion-mnist")?.testAccuracy,
               let r = comparison.run("lstm-128", dataset: "fashion-mnist")?.testAccuracy {
                out.append("On Fashion-MNIST the CNN reaches \(Format.percent(c)) and the LSTM \(Format.percent(r)).")
            }
            if comparison.quick {
                out.append("The comparison was run with --quick (1 epoch on a subset): its numbers are a smoke test, not a result.")
            }
        }
        return out
    }
}
