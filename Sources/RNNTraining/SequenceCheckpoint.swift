import RNNFormat

/// Which files a feature-sequence run reads (spec/CHECKPOINT.md §3.6 `sequenceFiles`).
package enum SequenceFiles: String, Sendable, Equatable, CaseIterable {
    /// A UEA/UCR `.ts` training file and test file.
    case ts
    /// `.npy` features, labels and optional lengths for each part.
    case npy
}

/// A checkpoint of a feature-sequence run (version 2, `kind` `sequence`): the image run's header
/// (settings, counters, history, data identity, `timeSteps` = the data's longest sequence) plus
/// which files were read and the standardization, so that `rnn-train export` can write the model
/// without the data (spec/CHECKPOINT.md §3.6).
package struct SequenceCheckpoint: Sendable, Equatable {
    /// The run's settings (`validationCount` is the number of validation sequences actually held out).
    package var configuration: TrainingConfiguration
    /// Weights, optimizer moments, counters and the best epoch's weights.
    package var state: TrainingState
    /// Data set name (the `.ts` `@problemName` or the features file's name).
    package var datasetName: String
    /// File name -> SHA-256 of every file the run read: a resume on other files is refused.
    package var datasetSHA256: [String: String]
    /// Class names, exported as the model's labels.
    package var classNames: [String]
    /// The longest sequence of any part: the model's `max_length` and the steps every batch runs.
    package var maxLength: Int
    /// The standardization fitted on the training part (nil: `--no-standardize`).
    package var standardization: Standardization?
    /// `.ts` or `.npy` files.
    package var files: SequenceFiles

    /// A checkpoint of `state` in a run of `configuration`.
    package init(configuration: TrainingConfiguration, state: TrainingState, datasetName: String, datasetSHA256: [String: String],
                 classNames: [String], maxLength: Int, standardization: Standardization?, files: SequenceFiles) {
        self.configuration = configuration
        self.state = state
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.classNames = classNames
        self.maxLength = maxLength
        self.standardization = standardization
        self.files = files
    }

    /// A checkpoint of `state` in a run of `configuration` on `data`, read from `files`.
    package init(configuration: TrainingConfiguration, state: TrainingState, data: SequenceTrainingData, files: SequenceFiles) {
        self.init(configuration: configuration, state: state, datasetName: data.name, datasetSHA256: data.sha256,
                  classNames: data.classNames, maxLength: data.maximumLength, standardization: data.standardization, files: files)
    }

    /// The checkpoint's bytes (always version 2: the best epoch's weights need the fourth array).
    package func encoded() throws(TrainingError) -> [UInt8] {
        var header = CheckpointHeader(kind: "sequence", configuration: configuration, state: state, datasetName: datasetName,
                                      datasetSHA256: datasetSHA256, classNames: classNames)
        header.timeSteps = maxLength
        header.sequenceFiles = files.rawValue
        header.inputMeanBits = standardization.map { $0.mean.map(\.bitPattern) }
        header.inputStdBits = standardization.map { $0.std.map(\.bitPattern) }
        return CheckpointFile.encode(version: 2, json: try CheckpointFile.encodeHeader(header), arrays: state.checkpointArrays(version: 2))
    }

    /// Parses the bytes of a feature-sequence checkpoint, checking every field (spec/CHECKPOINT.md
    /// §4); `path` is only used in error messages. What needs the data is checked by
    /// ``validate(against:path:)`` when the run resumes.
    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        let contents = try CheckpointFile.decode(bytes, path: path)
        guard contents.kind == "sequence" else {
            throw .invalidCheckpoint(path: path, reason: "a checkpoint of a \(contents.kind) run, not of a feature-sequence run")
        }
        try self.init(contents, path: path)
    }

    init(_ contents: CheckpointFile.Contents, path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let header = try CheckpointHeader<TrainingConfiguration>.network(contents, path: path)
        let c = header.configuration
        guard c.subset == nil else { throw fail("configuration.subset must be absent in a feature-sequence run, got \(c.subset!)") }
        guard let maxLength = header.timeSteps else { throw fail("unreadable header: field timeSteps is missing") }
        guard (1...FeatureInput.limit).contains(maxLength) else {
            throw fail("timeSteps must be in 1...\(FeatureInput.limit), got \(maxLength)")
        }
        guard let filesText = header.sequenceFiles else { throw fail("unreadable header: field sequenceFiles is missing") }
        guard let files = SequenceFiles(rawValue: filesText) else {
            throw fail("sequenceFiles must be \"ts\" or \"npy\", got \(quoted(filesText))")
        }
        var standardization: Standardization?
        switch (header.inputMeanBits, header.inputStdBits) {
        case (nil, nil): standardization = nil
        case (let m?, let s?):
            let f = c.architecture.inputSize
            guard m.count == f, s.count == f else {
                throw fail("inputMeanBits and inputStdBits must hold configuration.architecture.inputSize = \(f) values, got \(m.count) and \(s.count)")
            }
            let mean = m.map(Float.init(bitPattern:)), std = s.map(Float.init(bitPattern:))
            if let k = mean.firstIndex(where: { !$0.isFinite }) { throw fail("inputMeanBits[\(k)] is \(mean[k]); expected finite") }
            if let k = std.firstIndex(where: { !($0.isFinite && $0 >= 0) }) { throw fail("inputStdBits[\(k)] is \(std[k]); expected finite and >= 0") }
            standardization = Standardization(mean: mean, std: std)
        default: throw fail("inputMeanBits and inputStdBits come together (both or neither)")
        }
        let state = try header.networkState(contents, settings: c.sequenceLoop, path: path)
        self.init(configuration: c, state: state, datasetName: header.datasetName, datasetSHA256: header.datasetSHA256,
                  classNames: header.classNames, maxLength: maxLength, standardization: standardization, files: files)
        // Last, the export the run ends with: the format's own rules, so that a checkpoint that reads can be exported.
        do { _ = try ModelWriter.encode(modelFile()) } catch {
            throw fail("its model cannot be written (\(error)); check classNames, timeSteps and datasetSHA256")
        }
    }

    /// Reads a feature-sequence checkpoint file.
    package static func read(from path: String) throws(TrainingError) -> SequenceCheckpoint {
        try SequenceCheckpoint(decoding: try readFile(path, limit: CheckpointFile.maximumFileBytes), path: path)
    }

    /// Writes the checkpoint atomically.
    package func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// The checks a resume makes against the data the command line names, read again with the
    /// checkpoint's seed, validation count and standardization choice (spec/CHECKPOINT.md §4.4).
    /// Other files (SHA-256) are a ``TrainingError/dataMismatch(_:)``; everything else is the
    /// checkpoint's fault, an ``TrainingError/invalidCheckpoint(path:reason:)`` naming the field.
    package func validate(against data: SequenceTrainingData, path: String) throws(TrainingError) {
        guard data.sha256 == datasetSHA256 else {
            throw .dataMismatch("the checkpoint was trained on \(datasetName) with different files (SHA-256 differs); pass the same --data and --test files")
        }
        func check(_ ok: Bool, _ reason: @autoclosure () -> String) throws(TrainingError) {
            if !ok { throw .invalidCheckpoint(path: path, reason: reason()) }
        }
        let c = configuration
        try check(c.architecture.inputSize == data.features,
                  "configuration.architecture.inputSize must be the data's \(data.features) features per step, got \(c.architecture.inputSize)")
        try check(maxLength == data.maximumLength, "timeSteps must be the data's longest sequence \(data.maximumLength), got \(maxLength)")
        try check(c.validationCount == data.validation.count,
                  "configuration.validationCount must be the \(data.validation.count) validation sequences the data gives, got \(c.validationCount)")
        try check(standardization == data.standardization, "inputMeanBits and inputStdBits must be the training part's statistics")
        try checkClassNames(classNames, against: data.classNames, path: path)
        do { try state.validate(c.sequenceLoop, trainCount: data.train.count) } catch {
            throw .invalidCheckpoint(path: path, reason: error.reason)
        }
    }

    /// The model of the run's result (its best epoch's weights when it keeps them, ``RunState/result``):
    /// format 1.2 `features` input (`max_length` = ``maxLength``, the standardization tensors), labels
    /// = class names, and the image run's provenance (spec §6.3) with the validation figures of the
    /// epoch the weights come from; `metrics` adds e.g. `test_accuracy`.
    package func modelFile(metrics extra: [String: Double] = [:], time: ProvenanceTime = .unstated) -> ModelFile {
        let run = Checkpoint(configuration: configuration, state: state, datasetName: datasetName, datasetSHA256: datasetSHA256,
                             classNames: classNames, timeSteps: maxLength)
        var provenance = run.provenance(metrics: extra, time: time)
        provenance.hyperparameters["validation_images"] = nil
        provenance.hyperparameters["validation_sequences"] = .number(Double(configuration.validationCount))
        provenance.hyperparameters["standardize"] = .number(standardization == nil ? 0 : 1)
        if let record = state.resultRecord {
            provenance.metrics["result_epoch"] = Double(record.epoch)
            provenance.metrics["validation_accuracy"] = record.validationAccuracy.isFinite ? record.validationAccuracy : nil
            provenance.metrics["validation_loss"] = record.validationLoss.isFinite ? record.validationLoss : nil
        }
        return state.result.modelFile(input: .features(maxLength: maxLength, mean: standardization?.mean, std: standardization?.std),
                                      labels: classNames, provenance: provenance)
    }
}
