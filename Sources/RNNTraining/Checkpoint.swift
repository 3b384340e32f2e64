import Foundation
import RNNDatasets
import RNNFormat

/// A training checkpoint: everything needed to continue a run bit for bit.
///
/// File layout (`.ckpt`, all integers little-endian; spec/CHECKPOINT.md has every field and what a
/// reader refuses):
///
///     offset  size  field
///          0     8  magic "RNNCKPT\n"
///          8     4  version (1)
///         12     4  reserved, zero
///         16     8  J: bytes of the JSON header
///         24     8  P: number of parameters
///         32     J  JSON header (configuration, counters, history, data set identity)
///       32+J   12P  parameters, Adam first moments, Adam second moments (binary32 each)
///    32+J+12P    4  CRC-32 (zlib's) of every byte before it
///                4  reserved, zero
///
/// The shuffling order is not stored: it is a function of the seed and the epoch
/// (``Trainer/order(epoch:)``), so the counters suffice to continue exactly where the run stopped.
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

    static let magic: [UInt8] = Array("RNNCKPT\n".utf8)
    static let version: UInt32 = 1
    /// Largest JSON header and parameter count accepted when reading (checked before allocating).
    static let maximumHeaderBytes = 16 << 20
    static let maximumParameters = 1 << 28

    /// JSON has no NaN: a run without validation images (`validationCount` 0) records its
    /// validation loss and accuracy as the string "NaN" (spec/CHECKPOINT.md §3).
    static let nonFinite = (positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return encoder
    }
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return decoder
    }

    struct Header: Codable {
        var configuration: TrainingConfiguration
        var epoch, stepInEpoch, globalStep, adamStep: Int
        var epochLossSum: Double
        var epochCorrect, epochSeen: Int
        var epochSeconds, trainSeconds: Double
        var history: [EpochRecord]
        var datasetName: String
        var datasetSHA256: [String: String]
        var classNames: [String]
        var timeSteps: Int
    }

    /// The checkpoint's bytes.
    package func encoded() throws(TrainingError) -> [UInt8] {
        let s = state
        let header = Header(configuration: configuration, epoch: s.epoch, stepInEpoch: s.stepInEpoch,
                            globalStep: s.globalStep, adamStep: s.optimizer.step, epochLossSum: s.epochLossSum,
                            epochCorrect: s.epochCorrect, epochSeen: s.epochSeen, epochSeconds: s.epochSeconds,
                            trainSeconds: s.trainSeconds, history: s.history, datasetName: datasetName,
                            datasetSHA256: datasetSHA256, classNames: classNames, timeSteps: timeSteps)
        let json: [UInt8]
        do { json = Array(try Self.encoder.encode(header)) } catch {
            throw .io(path: "<checkpoint>", reason: "cannot encode header: \(error)")
        }
        let p = s.parameters.values.count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40 + json.count + 12 * p)
        bytes += Self.magic
        appendLittleEndian(&bytes, Self.version)
        appendLittleEndian(&bytes, UInt32(0))
        appendLittleEndian(&bytes, UInt64(json.count))
        appendLittleEndian(&bytes, UInt64(p))
        bytes += json
        for array in [s.parameters.values, s.optimizer.firstMoment, s.optimizer.secondMoment] {
            for v in array { appendLittleEndian(&bytes, v.bitPattern) }
        }
        appendLittleEndian(&bytes, Checksum.crc32(bytes, count: bytes.count))
        appendLittleEndian(&bytes, UInt32(0))
        return bytes
    }

    /// Parses checkpoint bytes; `path` is only used in error messages.
    ///
    /// A pure function of the bytes: every field is checked here (layout, checksum, then each
    /// header field against its range and the others, spec/CHECKPOINT.md §4), so that a damaged
    /// or tampered file is refused with one line naming the field, never trusted because its
    /// CRC matches. What needs the data set (steps per epoch) is checked by
    /// ``trainingData(from:path:)`` when the run resumes.
    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        guard bytes.count >= 40 else { throw fail("file is \(bytes.count) bytes, shorter than the 40-byte minimum") }
        guard Array(bytes[0..<8]) == Self.magic else { throw fail("wrong magic (not an rnn-train checkpoint)") }
        let version: UInt32 = readLittleEndian(bytes, 8)
        guard version == Self.version else { throw fail("version \(version), this trainer reads version \(Self.version)") }
        let reserved: UInt32 = readLittleEndian(bytes, 12)
        guard reserved == 0 else { throw fail("reserved field at offset 12 is \(hex(reserved)), expected 0") }
        let jsonCount: UInt64 = readLittleEndian(bytes, 16)
        let p: UInt64 = readLittleEndian(bytes, 24)
        guard jsonCount <= UInt64(Self.maximumHeaderBytes) else { throw fail("header of \(jsonCount) bytes exceeds \(Self.maximumHeaderBytes)") }
        guard p <= UInt64(Self.maximumParameters) else { throw fail("\(p) parameters exceeds \(Self.maximumParameters)") }
        let expected = 32 + Int(jsonCount) + 12 * Int(p) + 8
        guard bytes.count == expected else { throw fail("file is \(bytes.count) bytes, header says \(expected)") }
        let storedCRC: UInt32 = readLittleEndian(bytes, expected - 8)
        let actualCRC = Checksum.crc32(bytes, count: expected - 8)
        guard storedCRC == actualCRC else {
            throw fail("checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC))): the file is damaged")
        }
        let trailer: UInt32 = readLittleEndian(bytes, expected - 4)
        guard trailer == 0 else { throw fail("reserved field after the checksum is \(hex(trailer)), expected 0") }
        let header: Header
        do { header = try Self.decoder.decode(Header.self, from: Data(bytes[32..<(32 + Int(jsonCount))])) } catch {
            throw fail("unreadable header: \(Self.describe(error))")
        }
        try header.validate(parameterCount: Int(p), path: path)
        let count = Int(p)
        func floats(_ index: Int) -> [Float] {
            let base = 32 + Int(jsonCount) + index * 4 * count
            return (0..<count).map { Float(bitPattern: readLittleEndian(bytes, base + 4 * $0)) }
        }
        let values = floats(0), first = floats(1), second = floats(2)
        if let k = values.firstIndex(where: { !$0.isFinite }) { throw fail("weight \(k) is \(values[k]); weights are finite") }
        if let k = first.firstIndex(where: { !$0.isFinite }) {
            throw fail("Adam first moment \(k) is \(first[k]); moments are finite")
        }
        // v is a running mean of squared gradients: a negative one would make sqrt(v) NaN on the next step.
        if let k = second.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw fail("Adam second moment \(k) is \(second[k]); expected finite and >= 0")
        }
        let c = header.configuration
        var optimizer = AdamOptimizer(parameterCount: count, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon)
        optimizer.firstMoment = first
        optimizer.secondMoment = second
        optimizer.step = header.adamStep
        var state = TrainingState(parameters: LSTMParameters(architecture: c.architecture, values: values), optimizer: optimizer)
        state.epoch = header.epoch
        state.stepInEpoch = header.stepInEpoch
        state.globalStep = header.globalStep
        state.epochLossSum = header.epochLossSum
        state.epochCorrect = header.epochCorrect
        state.epochSeen = header.epochSeen
        state.epochSeconds = header.epochSeconds
        state.trainSeconds = header.trainSeconds
        state.history = header.history
        do { try state.validate(configuration: c) } catch { throw fail(error.reason) }
        self.init(configuration: c, state: state, datasetName: header.datasetName,
                  datasetSHA256: header.datasetSHA256, classNames: header.classNames, timeSteps: header.timeSteps)
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
    /// a `validationCount` that leaves no training images, a `stepInEpoch` past the epoch's
    /// batches, `globalStep` past the run, epochs of the wrong length, or a shape (`timeSteps`,
    /// `classNames`, `architecture.inputSize`) other than the data's.
    package func trainingData(from splits: DatasetSplits, path: String) throws(TrainingError) -> TrainingData {
        guard splits.sha256 == datasetSHA256 else {
            throw .dataMismatch("the checkpoint was trained on \(datasetName) with different files (SHA-256 differs); pass the same --dataset/--data")
        }
        let available = splits.train.count
        guard configuration.validationCount < available else {
            throw .invalidCheckpoint(path: path, reason: "configuration.validationCount must be below the \(available) training images of \(splits.dataset.description), got \(configuration.validationCount)")
        }
        let data = try TrainingData(splits, validationCount: configuration.validationCount)
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
        if let k = zip(classNames, data.classNames).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            try check(false, "classNames[\(k)] must be the data set's \(quoted(data.classNames[k])), got \(quoted(classNames[k]))")
        }
        try check(classNames.count == data.classNames.count,
                  "classNames must hold the data set's \(data.classNames.count) class names, got \(classNames.count)")
        do { try state.validate(configuration: c, trainCount: train.count) } catch {
            throw .invalidCheckpoint(path: path, reason: error.reason)
        }
    }

    /// A decoding error as "what, where": the JSON path of the field and what was wrong with it.
    static func describe(_ error: any Error) -> String {
        func at(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "the header" : context.codingPath.map { key in
                key.intValue.map { "[\($0)]" } ?? "." + key.stringValue
            }.joined().drop { $0 == "." }.description
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            let parent = at(context)
            return "field \(parent == "the header" ? "" : parent + ".")\(key.stringValue) is missing"
        case .typeMismatch(let type, let context)?: return "\(at(context)) is not a valid \(type)"
        case .valueNotFound(let type, let context)?: return "\(at(context)) is null, expected a \(type)"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty ? String(context.debugDescription.prefix(120)) : "\(at(context)) has an invalid value"
        default: return "\(error)"
        }
    }

    /// Writes the checkpoint atomically (temporary file in the same directory, fsync, rename).
    package func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// Reads a checkpoint file.
    package static func read(from path: String) throws(TrainingError) -> Checkpoint {
        try Checkpoint(decoding: try readFile(path, limit: 12 * maximumParameters + maximumHeaderBytes + 40), path: path)
    }
}

extension Checkpoint.Header {
    /// The settings, the parameter count and the data identity (spec/CHECKPOINT.md §4.2.1,
    /// §4.3.1); the counters are the state's own checks (``TrainingState/validate(configuration:)``).
    func validate(parameterCount: Int, path: String) throws(TrainingError) {
        func check(_ ok: Bool, _ reason: @autoclosure () -> String) throws(TrainingError) {
            if !ok { throw .invalidCheckpoint(path: path, reason: reason()) }
        }
        // The settings, with the command line's rules (one implementation), named by field.
        do { try configuration.validate(naming: .checkpointField) } catch {
            throw .invalidCheckpoint(path: path, reason: error.description)
        }
        let c = configuration
        let needed = c.architecture.layout.count
        try check(parameterCount == needed, "\(parameterCount) parameters stored, the architecture needs \(needed)")

        // What the exported model is made of.
        try check(!datasetName.isEmpty, "datasetName must not be empty")
        for (file, digest) in datasetSHA256 {
            try check(!file.isEmpty, "datasetSHA256 has an empty file name")
            try check(digest.utf8.count == 64 && digest.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) },
                      "datasetSHA256[\(quoted(file))] must be 64 lowercase hex digits, got \(quoted(digest))")
        }
        try check(classNames.count == c.architecture.classCount,
                  "classNames must hold configuration.architecture.classCount = \(c.architecture.classCount) names, got \(classNames.count)")
        try check(timeSteps >= 1, "timeSteps must be at least 1, got \(timeSteps)")
    }
}

/// `text` in quotes, at most 64 characters of it, so that a long value from a hostile file does
/// not flood the error line (control characters are escaped by ``TrainingError/description``).
func quoted(_ text: String) -> String {
    let scalars = text.unicodeScalars
    return "\"" + String(String.UnicodeScalarView(scalars.prefix(64))) + (scalars.count > 64 ? "..." : "") + "\""
}

func appendLittleEndian<T: FixedWidthInteger>(_ bytes: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
}

func readLittleEndian<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int) -> T {
    var value: T = 0
    for k in 0..<MemoryLayout<T>.size { value |= T(bytes[offset + k]) << (8 * k) }
    return value
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

