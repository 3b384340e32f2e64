import RNNDatasets
import RNNFormat
import RNNReport
import RNNRuntime

/// Classifies a labelled test set and collects what the report shows about the predictions.
func evaluate(_ model: Model, on test: LabeledImages, threads: Int) throws(ReportFailure) -> Evaluation {
    let result: BatchResult
    do {
        result = try model.classify(pixels: test.images.pixels, options: ClassifyOptions(threads: threads))
    } catch {
        throw .model(error)
    }
    let classes = model.classCount
    let truth = test.labels.map(Int.init)
    var confidence: [Double] = []
    confidence.reserveCapacity(result.count)
    var mistakes: [Misclassification] = []
    for i in 0..<result.count {
        let predicted = result.predictions[i]
        let probability = Double(result.probabilities[i * classes + predicted])
        confidence.append(probability)
        if predicted != truth[i], let image = digitImage(test.images, i) {
            mistakes.append(Misclassification(index: i, truth: truth[i], predicted: predicted, probability: probability, image: image))
        }
    }
    do {
        return try Evaluation(truth: truth, predicted: result.predictions, confidence: confidence, classCount: classes,
                              misclassified: mistakes)
    } catch {
        throw .dataMismatch("test labels: \(error)")
    }
}

/// Image `index` of `set` as a report image.
func digitImage(_ set: ImageSet, _ index: Int) -> DigitImage? {
    DigitImage(width: set.width, height: set.height, pixels: Array(set.image(at: index)))
}

/// Throughput of `model` at each batch size and thread count, by the runtime's one benchmark
/// method (``Benchmark``): batch 1 as `1 / median latency` of single-image calls, larger batches as
/// the median of `repeats` passes over the test images in calls of that size.
func measureSpeed(_ model: Model, pixels: [UInt8], batchSizes: [Int], threadCounts: [Int],
                  singleImages: Int, repeats: Int) throws(ReportFailure) -> [SpeedRow] {
    let available = pixels.count / model.pixelsPerImage
    var rows: [SpeedRow] = []
    do {
        try pixels.withUnsafeBufferPointer { all throws(RuntimeError) in
            for threads in threadCounts {
                let options = ClassifyOptions(threads: threads)
                for batch in batchSizes where batch <= available {
                    // One thread is all a single image can use: the runtime splits work by blocks of images.
                    if batch == 1 {
                        guard threads == 1 else { continue }
                        let latency = try Benchmark.latency(model, pixels: all, count: singleImages, options: options)
                        rows.append(SpeedRow(batchSize: 1, threads: 1, imagesPerSecond: latency.imagesPerSecond,
                                             medianSeconds: latency.percentile(0.5), runs: latency.seconds.count))
                    } else {
                        let row = try Benchmark.throughput(model, pixels: all, batchSize: batch, repeats: repeats, options: options)
                        rows.append(SpeedRow(batchSize: batch, threads: threads, imagesPerSecond: row.imagesPerSecond,
                                             medianSeconds: row.medianSeconds * Double(batch) / Double(max(1, row.images)),
                                             runs: row.repeats))
                    }
                }
            }
        }
    } catch {
        throw .model(error)
    }
    return rows
}

/// The model converted to each dtype exactly as `rnn-infer convert` converts it
/// (``RNNFormat/ModelFile/converted(to:)``: weight matrices in the dtype, biases f32): file size
/// (zstd and stored) and test accuracy.
func measureSizes(_ file: ModelFile, test: LabeledImages, threads: Int) throws(ReportFailure) -> [SizeRow] {
    var rows: [SizeRow] = []
    for dtype in DType.allCases {
        do {
            let converted = try file.converted(to: dtype)
            let compressed = try ModelWriter.encode(converted)
            let stored = try ModelWriter.encode(converted, options: .uncompressed)
            let model = try Model(bytes: compressed)
            let evaluation = try evaluate(model, on: test, threads: threads)
            rows.append(SizeRow(dtype: dtype.description, fileBytes: compressed.count, uncompressedBytes: stored.count,
                                testAccuracy: evaluation.accuracy))
        } catch let error as ModelFormatError {
            printError("rnn-report: skipping \(dtype): \(error)")
        } catch let error as RuntimeError {
            throw .model(error)
        } catch let error as ReportFailure {
            throw error
        } catch {
            printError("rnn-report: skipping \(dtype): \(error)")
        }
    }
    return rows
}
