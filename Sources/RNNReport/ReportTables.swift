/// The report's tables as rows of text, shared by the HTML page and the Markdown summary so the
/// two always show the same numbers.
enum ReportTables {
    static let epochHeader = ["epoch", "train loss", "train acc", "val loss", "val acc", "seconds", "learning rate"]

    static func epochRows(_ log: RunLog) -> [[String]] {
        log.epochs.map { e in
            [String(e.epoch), e.trainLoss.map { Format.fixed($0, 4) } ?? "", e.trainAccuracy.map { Format.percent($0) } ?? "",
             e.validationLoss.map { Format.fixed($0, 4) } ?? "", e.validationAccuracy.map { Format.percent($0) } ?? "",
             e.seconds.map { Format.fixed($0, 1) } ?? "", e.learningRate.map { "\($0)" } ?? ""]
        }
    }

    static let classHeader = ["class", "precision", "recall", "F1", "images"]

    static func classRows(_ matrix: ConfusionMatrix, names: [String]) -> [[String]] {
        matrix.classMetrics().map { m in
            [className(m.classIndex, names), m.precision.map { Format.percent($0, 1) } ?? "n/a",
             m.recall.map { Format.percent($0, 1) } ?? "n/a", m.f1.map { Format.fixed($0, 3) } ?? "n/a", Format.grouped(m.support)]
        }
    }

    static let sizeHeader = ["dtype", "file (zstd)", "file (uncompressed)", "test accuracy"]

    static func sizeRows(_ rows: [SizeRow]) -> [[String]] {
        rows.map { [$0.dtype, Format.bytes($0.fileBytes), $0.uncompressedBytes.map(Format.bytes) ?? "",
                    $0.testAccuracy.map { Format.percent($0) } ?? ""] }
    }

    static let speedHeader = ["batch", "threads", "images/s", "ms per batch", "runs"]

    static func speedRows(_ rows: [SpeedRow]) -> [[String]] {
        rows.map { [Format.grouped($0.batchSize), String($0.threads), Format.grouped(Int($0.imagesPerSecond.rounded())),
                    Format.fixed($0.medianSeconds * 1000, 3), String($0.runs)] }
    }

    static let comparisonHeader = ["dataset", "model", "epochs", "test acc", "acc epoch 1", "params", "float32", "zstd", "train s/epoch",
                                   "img/s b=1 (1 thr)", "img/s b=10k (1 thr)", "img/s b=10k (2 thr)"]

    static func comparisonRows(_ comparison: Comparison) -> [[String]] {
        comparison.runs.map { r in
            [r.dataset, r.name, r.epochCount.map(String.init) ?? "", r.testAccuracy.map { Format.percent($0) } ?? "",
             r.accuracy(afterEpoch: 1).map { Format.percent($0) } ?? "", r.parameters.map(Format.grouped) ?? "",
             r.float32Bytes.map(Format.bytes) ?? "", r.zstdBytes.map(Format.bytes) ?? "",
             r.trainSecondsPerEpoch.map { Format.fixed($0, 1) } ?? "",
             r.imagesPerSecond(batch: 1, threads: 1).map(Format.compact) ?? "",
             r.imagesPerSecond(batch: 10_000, threads: 1).map(Format.compact) ?? "",
             r.imagesPerSecond(batch: 10_000, threads: 2).map(Format.compact) ?? ""]
        }
    }
}
