import RNNDatasets
import RNNFormat
import RNNReport
import RNNRuntime
import RNNSupport

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

/// Throughput of `model` at each batch size: batch 1 as the median latency of single-image calls,
/// larger batches as the median time of repeated calls on consecutive test images.
func measureSpeed(_ model: Model, pixels: [UInt8], batchSizes: [Int], threadCounts: [Int],
                  singleImages: Int, repeats: Int) throws(ReportFailure) -> [SpeedRow] {
    let perImage = model.pixelsPerImage
    let available = pixels.count / perImage
    var rows: [SpeedRow] = []
    for threads in threadCounts {
        for batch in batchSizes where batch <= available {
            // One thread is all a single image can use: the runtime splits work by blocks of images.
            if batch == 1 && threads > 1 { continue }
            let options = ClassifyOptions(threads: threads)
            let runs = batch == 1 ? singleImages : max(3, min(repeats, 20_000 / batch + 3))
            var times: [Double] = []
            times.reserveCapacity(runs)
            do {
                try pixels.withUnsafeBufferPointer { all throws(RuntimeError) in
                    // Warm-up: first-touch of the workspace and the BLAS buffers is not what we measure.
                    _ = try model.classify(pixels: UnsafeBufferPointer(rebasing: all[0..<(batch * perImage)]), options: options)
                    for run in 0..<runs {
                        let first = (run * batch) % max(1, available - batch + 1)
                        let slice = UnsafeBufferPointer(rebasing: all[(first * perImage)..<((first + batch) * perImage)])
                        let (_, seconds) = try measured { () throws(RuntimeError) in try model.classify(pixels: slice, options: options) }
                        times.append(seconds)
                    }
                }
            } catch {
                throw .model(error)
            }
            let m = median(times)
            rows.append(SpeedRow(batchSize: batch, threads: threads, imagesPerSecond: m > 0 ? Double(batch) / m : 0,
                                 medianSeconds: m, runs: runs))
        }
    }
    return rows
}

/// The model re-encoded with every weight matrix in each dtype: file size (zstd and stored) and
/// test accuracy. Bias vectors stay f32 for int8, where one scale per element would cost more
/// than it saves (spec §4.1 scales int8 per row).
func measureSizes(_ file: ModelFile, test: LabeledImages, threads: Int) throws(ReportFailure) -> [SizeRow] {
    var rows: [SizeRow] = []
    for dtype in DType.allCases {
        var converted = file
        do {
            converted.tensors = try file.tensors.map { tensor throws(ModelFormatError) -> Tensor in
                if dtype == .int8 && tensor.shape.count < 2 { return Tensor(name: tensor.name, shape: tensor.shape, values: tensor.floatValues()) }
                return try Tensor.quantized(name: tensor.name, shape: tensor.shape, values: tensor.floatValues(), to: dtype)
            }
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

/// The median of `values` (the mean of the two middle ones for an even count); 0 when empty.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
