/// Builds every figure the data in a ``ReportInput`` supports, in reading order.
///
/// A figure whose data is absent (no run log, no comparison) is simply left out, so a report can
/// be made from a model alone and grows as more measurements are supplied.
package enum ReportFigures {
    /// The figures, in the order the report shows them.
    package static func make(_ input: ReportInput) -> [Figure] {
        var figures: [Figure] = []
        if !input.samples.isEmpty {
            let grid = DigitGrid.samples(input.samples.map { ($0.image, $0.label) }, classNames: input.classNames,
                                         title: "Sample \(input.datasetName) test images with their labels")
            figures.append(Figure(name: "samples", caption: "What the network sees: each 28x28 image is read as 28 time steps of one 28-pixel row.",
                                  canvas: grid.canvas()))
        }
        if let log = input.runLog, !log.epochs.isEmpty {
            figures += learningCurves(log)
        }
        if let evaluation = input.evaluation {
            figures.append(Figure(name: "confusion-matrix",
                                  caption: "Counts of test images by true class (rows) and predicted class (columns); red cells are mistakes.",
                                  canvas: ConfusionMatrixChart(matrix: evaluation.confusion, classNames: input.classNames).canvas()))
            if !evaluation.misclassified.isEmpty {
                let grid = DigitGrid.misclassified(evaluation.misclassified, classNames: input.classNames, limit: 50)
                figures.append(Figure(name: "misclassified",
                                      caption: "The mistakes the model was surest about: t = true label, p = prediction (probability).",
                                      canvas: grid.canvas()))
            }
        }
        if !input.sizes.isEmpty {
            let bars = input.sizes.enumerated().map { index, row in
                var text = Format.bytes(row.fileBytes)
                if let accuracy = row.testAccuracy { text += " · " + Format.percent(accuracy) }
                return BarChart.Bar(label: row.dtype, value: Double(row.fileBytes), valueText: text, colorIndex: index)
            }
            figures.append(Figure(name: "sizes", caption: "Model file size per weight dtype (zstd-compressed .rnnm), with the test accuracy of each.",
                                  canvas: BarChart(title: "Model file size by weight dtype", unit: "bytes (smaller is better)", bars: bars).canvas()))
        }
        if !input.speeds.isEmpty {
            let values = input.speeds.map(\.imagesPerSecond).filter { $0 > 0 }
            let spread = (values.max() ?? 1) / max(values.min() ?? 1, 1e-9)
            let bars = input.speeds.map { row in
                BarChart.Bar(label: "batch \(Format.grouped(row.batchSize)), \(row.threads) thread\(row.threads == 1 ? "" : "s")",
                             value: row.imagesPerSecond, valueText: Format.compact(row.imagesPerSecond) + " img/s",
                             colorIndex: row.threads == 1 ? 0 : 2)
            }
            figures.append(Figure(name: "speed", caption: "Inference throughput of the Swift runtime (median of repeated runs).",
                                  canvas: BarChart(title: "Inference speed (Swift RNNRuntime)", unit: "images per second (higher is better)",
                                                   bars: bars, logarithmic: spread > 30).canvas()))
        }
        if let comparison = input.comparison, !comparison.runs.isEmpty {
            figures += comparisonFigures(comparison, input: input)
        }
        if let text = input.textComparison {
            figures += text.figures
        }
        return figures
    }

    static func learningCurves(_ log: RunLog) -> [Figure] {
        func series(_ name: String, _ color: Int, dashed: Bool, _ value: (EpochEntry) -> Double?) -> LineChart.Series? {
            let points = log.epochs.compactMap { entry in value(entry).map { ChartPoint(x: Double(entry.epoch), y: $0) } }
            return points.isEmpty ? nil : LineChart.Series(name: name, points: points, colorIndex: color, dashed: dashed)
        }
        var figures: [Figure] = []
        let accuracy = [series("training", 0, dashed: false, \.trainAccuracy), series("validation", 1, dashed: true, \.validationAccuracy)]
            .compactMap { $0 }
        if !accuracy.isEmpty {
            figures.append(Figure(name: "learning-curves-accuracy",
                                  caption: "Accuracy after each epoch; validation close to training means little overfitting.",
                                  canvas: LineChart(title: "Accuracy per epoch", xLabel: "Epoch", yLabel: "Accuracy",
                                                    series: accuracy, percentAxis: true).canvas()))
        }
        let loss = [series("training", 0, dashed: false, \.trainLoss), series("validation", 1, dashed: true, \.validationLoss)]
            .compactMap { $0 }
        if !loss.isEmpty {
            figures.append(Figure(name: "learning-curves-loss", caption: "Cross-entropy loss after each epoch.",
                                  canvas: LineChart(title: "Loss per epoch", xLabel: "Epoch", yLabel: "Cross-entropy loss",
                                                    series: loss).canvas()))
        }
        return figures
    }

    static func errorBar(_ label: String, _ accuracy: Double, _ color: Int) -> BarChart.Bar {
        BarChart.Bar(label: label, value: (1 - accuracy) * 100,
                     valueText: Format.fixed((1 - accuracy) * 100, 2) + "% (" + Format.percent(accuracy) + " right)", colorIndex: color)
    }

    static func comparisonFigures(_ comparison: Comparison, input: ReportInput) -> [Figure] {
        var figures: [Figure] = []
        let mnist = comparison.runs.filter { $0.dataset == "mnist" }
        let color: (ComparisonRun) -> Int = { $0.family == "cnn" ? 1 : 0 }
        // Every model has an epoch-1 accuracy (the variants train only one epoch by default, at a
        // constant learning rate), so epoch 1 is the fair common ground; the main models' final
        // accuracy follows as extra bars.
        var errorBars: [BarChart.Bar] = mnist.compactMap { run in
            run.accuracy(afterEpoch: 1).map { errorBar("\(run.name), epoch 1", $0, color(run)) }
        }
        errorBars += mnist.compactMap { run in
            guard let epochs = run.epochCount, epochs > 1, let accuracy = run.testAccuracy else { return nil }
            return errorBar("\(run.name), epoch \(epochs)", accuracy, color(run))
        }
        if !errorBars.isEmpty {
            figures.append(Figure(name: "compare-error", caption: "Test error with the same optimizer and data (orange: CNN), after one epoch and at the end of training.",
                                  canvas: BarChart(title: "Test error on MNIST, PyTorch", unit: "test error in % (lower is better)",
                                                   bars: errorBars).canvas()))
        }
        let curves = mnist.enumerated().compactMap { index, run -> LineChart.Series? in
            let points = run.epochs.compactMap { e in e.testAccuracy.map { ChartPoint(x: Double(e.epoch), y: $0) } }
            return points.isEmpty ? nil : LineChart.Series(name: run.name, points: points, colorIndex: run.family == "cnn" ? 1 : (index == 1 ? 0 : index + 1),
                                                           dashed: run.family == "cnn")
        }
        if curves.contains(where: { $0.points.count > 1 }) {
            figures.append(Figure(name: "compare-epochs", caption: "Test accuracy after each epoch for every model.",
                                  canvas: LineChart(title: "Test accuracy per epoch, MNIST", xLabel: "Epoch", yLabel: "Test accuracy",
                                                    series: curves, percentAxis: true, height: 360).canvas()))
        }
        let sizeBars = mnist.compactMap { run in
            run.float32Bytes.map { bytes in
                BarChart.Bar(label: run.name, value: Double(bytes),
                             valueText: Format.bytes(bytes) + (run.parameters.map { " (\(Format.grouped($0)) params)" } ?? ""),
                             colorIndex: color(run))
            }
        }
        if !sizeBars.isEmpty {
            figures.append(Figure(name: "compare-size", caption: "Size of the float32 weights, which is four bytes per parameter.",
                                  canvas: BarChart(title: "Model size (float32 weights)", unit: "bytes (smaller is better)", bars: sizeBars).canvas()))
        }
        for (batch, label) in [(10_000, "batch 10,000"), (1, "batch 1")] {
            var bars = mnist.compactMap { run in
                run.imagesPerSecond(batch: batch, threads: 1).map {
                    BarChart.Bar(label: "\(run.name) (PyTorch)", value: $0, valueText: Format.compact($0) + " img/s", colorIndex: color(run))
                }
            }
            if let swift = input.speeds.first(where: { $0.threads == 1 && $0.batchSize == batch }) {
                bars.append(BarChart.Bar(label: "\(input.model.name) (Swift runtime)", value: swift.imagesPerSecond,
                                         valueText: Format.compact(swift.imagesPerSecond) + " img/s", colorIndex: 2))
            }
            if !bars.isEmpty {
                figures.append(Figure(name: "compare-speed-batch\(batch)", caption: "Inference throughput at \(label) on one thread (green: this model in the Swift runtime).",
                                      canvas: BarChart(title: "Inference speed, \(label), 1 thread", unit: "images per second (higher is better)",
                                                       bars: bars).canvas()))
            }
        }
        let trainBars = mnist.compactMap { run in
            run.trainSecondsPerEpoch.map { BarChart.Bar(label: run.name, value: $0, valueText: Format.fixed($0, 1) + " s", colorIndex: color(run)) }
        }
        if !trainBars.isEmpty {
            figures.append(Figure(name: "compare-train-time", caption: "Training time per epoch on the CPU.",
                                  canvas: BarChart(title: "Training time per epoch (PyTorch, CPU)", unit: "seconds (lower is better)",
                                                   bars: trainBars).canvas()))
        }
        let fashion = comparison.runs.filter { $0.dataset == "fashion-mnist" }.compactMap { run in
            run.testAccuracy.map { errorBar("\(run.name), epoch \(run.epochCount ?? 1)", $0, color(run)) }
        }
        if !fashion.isEmpty {
            figures.append(Figure(name: "compare-fashion-error", caption: "The same comparison on Fashion-MNIST, a harder task with the same image format.",
                                  canvas: BarChart(title: "Test error on Fashion-MNIST, PyTorch", unit: "test error in % (lower is better)",
                                                   bars: fashion).canvas()))
        }
        return figures
    }
}
