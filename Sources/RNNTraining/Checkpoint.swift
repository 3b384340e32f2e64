import RNNDatasets
import RNNFormat

/// A checkpoint of an image run: everything needed to continue it bit for bit (the layout is
/// ``CheckpointFile``'s; spec/CHECKPOINT.md has every field and what a reader refuses).
///
/// Written as version 1 (byte for byte what rnn-train 1.0 wrote, and reads) unless the run has a
/// `configuration.subset`, `weightDecay`, `augmentation` or `patience`, which 1.0 would ignore and
/// resume as a different run: then version 2.
package struct Checkpoint: Sendable, Equatable {
    /// The run's settings.
    package var configuration: TrainingConfiguration
    /// Weights, optimizer moments and counters.
    package var state: TrainingState
    /// Data set identity, so that a resumed run can refuse different data.
    package var datasetName: String
    /// File name -> SHA-256 of the data the run uses.
    package var datasetSHA256: [String: String]
    /// Class names, exported as the model's labels.
    package var classNames: [String]
    /// Time steps (image height) the model was trained on.
    package var timeSteps: Int

    /// A checkpoint of `state` in the run configured by `configuration`.
    package init(configuration: TrainingConfiguration, state: TrainingState, datasetName: String,
                 datasetSHA256: [String: String], classNames: [String], timeSteps: Int) {
        self.configuration = configuration
        self.state = state
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.classNames = classNames
        self.timeSteps = timeSteps
    }

    /// The version this checkpoint is written as.
    var version: UInt32 {
        let c = configuration
        return c.subset == nil && c.weightDecay == nil && c.augmentation == nil && c.patience == nil ? 1 : 2
    }

    /// The checkpoint's bytes.
    package func encoded() throws(TrainingError) -> [UInt8] {
        var header = CheckpointHeader(kind: version == 1 ? nil : "image", configuration: configuration, state: state,
                                      datasetName: datasetName, datasetSHA256: datasetSHA256, classNames: classNames)
        header.timeSteps = timeSteps
        return CheckpointFile.encode(version: version, json: try CheckpointFile.encodeHeader(header),
                                     arrays: state.checkpointArrays(version: version))
    }

    /// Parses the bytes of an image checkpoint; `path` is only used in error messages.
    ///
    /// A pure function of the bytes: every field is checked here (layout, checksum, then each
    /// header field against its range and the others, spec/CHECKPOINT.md §4), so that a damaged
    /// or tampered file is refused with one line naming the field, never trusted because its
    /// CRC matches. What needs the data set (steps per epoch) is checked by
    /// ``trainingData(from:path:)`` when the run resumes.
    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        let contents = try CheckpointFile.decode(bytes, path: path)
        guard contents.kind == "image" else {
            throw .invalidCheckpoint(path: path, reason: "a checkpoint of a \(contents.kind) run, not of an image run")
        }
        try self.init(contents, path: path)
    }

    init(_ contents: CheckpointFile.Contents, path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let header = try CheckpointHeader<TrainingConfiguration>.network(contents, path: path)
        let c = header.configuration
        guard let timeSteps = header.timeSteps else { throw fail("unreadable header: field timeSteps is missing") }
        guard timeSteps >= 1 else { throw fail("timeSteps must be at least 1, got \(timeSteps)") }
        let state = try header.networkState(contents, settings: c.loop, path: path)
        self.init(configuration: c, state: state, datasetName: header.datasetName,
                  datasetSHA256: header.datasetSHA256, classNames: header.classNames, timeSteps: timeSteps)
        // Last, the export the run ends with: the format's own rules (label bytes, image height,
        // metadata size) so that a checkpoint that reads can always be exported.
        do { _ = try ModelWriter.encode(modelFile()) } catch {
            throw fail("its model cannot be written (\(error)); check classNames, timeSteps and datasetSHA256")
        }
    }

    /// The data a resumed run trains on, checked against this checkpoint.
    ///
    /// Different files (SHA-256) are a ``TrainingError/dataMismatch(_:)``; everything else is the
    /// checkpoint's fault, an ``TrainingError/invalidCheckpoint(path:reason:)`` naming the field:
    /// a `validationCount` (or a `subset`) the training images cannot hold, a `stepInEpoch` past the
    /// epoch's batches, `globalStep` past the run, epochs of the wrong length, or a shape
    /// (`timeSteps`, `classNames`, `architecture.inputSize`) other than the data's.
    package func trainingData(from splits: DatasetSplits, path: String) throws(TrainingError) -> TrainingData {
        guard splits.sha256 == datasetSHA256 else {
            throw .dataMismatch("the checkpoint was trained on \(datasetName) with different files (SHA-256 differs); pass the same --dataset/--data")
        }
        let available = splits.train.count, c = configuration
        guard c.validationCount < available else {
            throw .invalidCheckpoint(path: path, reason: "configuration.validationCount must be below the \(available) training images of \(splits.dataset.description), got \(c.validationCount)")
        }
        if let n = c.subset, n > available - c.validationCount {
            throw .invalidCheckpoint(path: path, reason: "configuration.subset must be at most the \(available - c.validationCount) training images of \(splits.dataset.description) configuration.validationCount \(c.validationCount) leaves, got \(n)")
        }
        let data = try TrainingData(splits, validationCount: c.validationCount, subset: c.subset)
        try validate(against: data, path: path)
        return data
    }

    /// The checks of ``trainingData(from:path:)`` that need the split data (spec/CHECKPOINT.md §4.4).
    package func validate(against data: TrainingData, path: String) throws(TrainingError) {
        func check(_ ok: Bool, _ reason: @autoclosure () -> String) throws(TrainingError) {
            if !ok { throw .invalidCheckpoint(path: path, reason: reason()) }
        }
        let c = configuration, train = data.train
        try check(train.count > 0, "configuration.validationCount \(c.validationCount) leaves no training images")
        try check(c.architecture.inputSize == train.width,
                  "configuration.architecture.inputSize must be the data's image width \(train.width), got \(c.architecture.inputSize)")
        try check(timeSteps == train.height, "timeSteps must be the data's image height \(train.height), got \(timeSteps)")
        try checkClassNames(classNames, against: data.classNames, path: path)
        do { try state.validate(c.loop, trainCount: train.count) } catch {
            throw .invalidCheckpoint(path: path, reason: error.reason)
        }
    }

    /// Writes the checkpoint atomically (temporary file in the same directory, fsync, rename).
    package func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// Reads an image checkpoint file.
    package static func read(from path: String) throws(TrainingError) -> Checkpoint {
        try Checkpoint(decoding: try readFile(path, limit: CheckpointFile.maximumFileBytes), path: path)
    }
}

/// `classNames[k]` must be the data set's, and as many (spec/CHECKPOINT.md §4.4.3).
func checkClassNames(_ classNames: [String], against data: [String], path: String) throws(TrainingError) {
    if let k = zip(classNames, data).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
        throw .invalidCheckpoint(path: path, reason: "classNames[\(k)] must be the data set's \(quoted(data[k])), got \(quoted(classNames[k]))")
    }
    guard classNames.count == data.count else {
        throw .invalidCheckpoint(path: path, reason: "classNames must hold the data set's \(data.count) class names, got \(classNames.count)")
    }
}

extension CheckpointHeader where Configuration == TrainingConfiguration {
    /// The header of a checkpoint of the `dense_in -> recurrent... -> dense_out` network (image and
    /// sequence runs) with what both kinds check first (spec/CHECKPOINT.md §4.2.1, §4.3.1): the
    /// settings with the command line's rules (one implementation), named by field; `P` against
    /// the architecture; the data set's identity; one class name per class.
    static func network(_ contents: CheckpointFile.Contents, path: String) throws(TrainingError) -> Self {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let header = try CheckpointFile.decodeHeader(Self.self, from: contents.json, path: path)
        do { try header.configuration.validate(naming: .checkpointField) } catch { throw fail(error.description) }
        let c = header.configuration
        let count = contents.arrays[0].count, needed = c.architecture.layout.count
        guard count == needed else { throw fail("\(count) parameters stored, the architecture needs \(needed)") }
        // What the exported model is made of.
        try header.validateIdentity(path: path)
        guard header.classNames.count == c.architecture.classCount else {
            throw fail("classNames must hold configuration.architecture.classCount = \(c.architecture.classCount) names, got \(header.classNames.count)")
        }
        return header
    }

    /// The network's run state of `contents` (``state(_:settings:optimizer:path:make:checkShape:)``
    /// with the configuration's optimizer settings and architecture).
    func networkState(_ contents: CheckpointFile.Contents, settings: LoopSettings, path: String) throws(TrainingError) -> TrainingState {
        let c = configuration
        return try state(contents, settings: settings, optimizer: c.makeOptimizer(), path: path,
                         make: { LSTMParameters(architecture: c.architecture, values: $0) },
                         checkShape: { s throws(StateInconsistency) in try s.checkShape(c.architecture) })
    }
}
