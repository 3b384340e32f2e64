import Foundation
import RNNFormat

/// The layout every checkpoint shares (spec/CHECKPOINT.md §2), whatever the model:
///
///     offset  size  field
///          0     8  magic "RNNCKPT\n"
///          8     4  version (1 or 2)
///         12     4  reserved, zero
///         16     8  J: bytes of the JSON header
///         24     8  P: number of parameters
///         32     J  JSON header (configuration, counters, history, data set identity)
///       32+J   A×4P A arrays of P binary32: weights, Adam first moments, Adam second moments, and in
///                   version 2 the best epoch's weights (A = 3 in version 1, 4 in version 2)
///   32+J+A×4P    4  CRC-32 (zlib's) of every byte before it
///                4  reserved, zero
///
/// The shuffling order is not stored: it is a function of the seed and the epoch
/// (``TrainingTask/order(epoch:)``), so the counters suffice to continue exactly where the run stopped.
enum CheckpointFile {
    static let magic: [UInt8] = Array("RNNCKPT\n".utf8)
    /// The versions this trainer reads and writes.
    static let versions: ClosedRange<UInt32> = 1...2
    /// Largest JSON header and parameter count accepted when reading (checked before allocating).
    static let maximumHeaderBytes = 16 << 20
    static let maximumParameters = 1 << 28
    /// The largest file a reader opens (a version-2 file at both limits).
    static let maximumFileBytes = 40 + maximumHeaderBytes + 16 * maximumParameters

    /// Float arrays after the header: weights, `m`, `v`, and from version 2 the best epoch's weights.
    static func arrayCount(version: UInt32) -> Int { version == 1 ? 3 : 4 }

    /// The bytes of a checkpoint of `version` with header `json` and the arrays (each `P` long).
    static func encode(version: UInt32, json: [UInt8], arrays: [[Float]]) -> [UInt8] {
        precondition(arrays.count == arrayCount(version: version), "version \(version) holds \(arrayCount(version: version)) arrays")
        let p = arrays[0].count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40 + json.count + 4 * arrays.count * p)
        bytes += magic
        appendLittleEndian(&bytes, version)
        appendLittleEndian(&bytes, UInt32(0))
        appendLittleEndian(&bytes, UInt64(json.count))
        appendLittleEndian(&bytes, UInt64(p))
        bytes += json
        for array in arrays {
            precondition(array.count == p, "every array holds P values")
            for v in array { appendLittleEndian(&bytes, v.bitPattern) }
        }
        appendLittleEndian(&bytes, Checksum.crc32(bytes, count: bytes.count))
        appendLittleEndian(&bytes, UInt32(0))
        return bytes
    }

    /// What the layout holds, once §4.1 items 1 to 4 passed.
    struct Contents {
        var version: UInt32
        var json: Data
        var arrays: [[Float]]
        /// The header's `kind` (`image` when absent).
        var kind: String
    }

    /// Checks the layout (spec/CHECKPOINT.md §4.1: size, magic, version, reserved words, sizes before
    /// anything is allocated, CRC) and the header's `kind`; `path` is only used in error messages.
    static func decode(_ bytes: [UInt8], path: String) throws(TrainingError) -> Contents {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        guard bytes.count >= 40 else { throw fail("file is \(bytes.count) bytes, shorter than the 40-byte minimum") }
        guard Array(bytes[0..<8]) == magic else { throw fail("wrong magic (not an rnn-train checkpoint)") }
        let version: UInt32 = readLittleEndian(bytes, 8)
        guard versions.contains(version) else {
            throw fail("version \(version), this trainer reads versions \(versions.lowerBound) and \(versions.upperBound)")
        }
        let reserved: UInt32 = readLittleEndian(bytes, 12)
        guard reserved == 0 else { throw fail("reserved field at offset 12 is \(hex(reserved)), expected 0") }
        let jsonCount: UInt64 = readLittleEndian(bytes, 16)
        let p: UInt64 = readLittleEndian(bytes, 24)
        guard jsonCount <= UInt64(maximumHeaderBytes) else { throw fail("header of \(jsonCount) bytes exceeds \(maximumHeaderBytes)") }
        guard p <= UInt64(maximumParameters) else { throw fail("\(p) parameters exceeds \(maximumParameters)") }
        let arrayCount = arrayCount(version: version)
        let expected = 32 + Int(jsonCount) + 4 * arrayCount * Int(p) + 8
        guard bytes.count == expected else { throw fail("file is \(bytes.count) bytes, header says \(expected)") }
        let storedCRC: UInt32 = readLittleEndian(bytes, expected - 8)
        let actualCRC = Checksum.crc32(bytes, count: expected - 8)
        guard storedCRC == actualCRC else {
            throw fail("checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC))): the file is damaged")
        }
        let trailer: UInt32 = readLittleEndian(bytes, expected - 4)
        guard trailer == 0 else { throw fail("reserved field after the checksum is \(hex(trailer)), expected 0") }
        let json = Data(bytes[32..<(32 + Int(jsonCount))])
        struct Kind: Decodable { var kind: String? }
        let kind = try decodeHeader(Kind.self, from: json, path: path).kind ?? "image"
        guard ["image", "text", "sequence", "cnn"].contains(kind) else {
            throw fail("kind must be \"image\", \"text\", \"sequence\" or \"cnn\", got \(quoted(kind))")
        }
        guard kind == "image" || version >= 2 else { throw fail("kind \(quoted(kind)) needs version 2 (the best epoch's weights), got version \(version)") }
        let count = Int(p)
        let arrays = (0..<arrayCount).map { index in
            let base = 32 + Int(jsonCount) + index * 4 * count
            return (0..<count).map { Float(bitPattern: readLittleEndian(bytes, base + 4 * $0)) }
        }
        return Contents(version: version, json: json, arrays: arrays, kind: kind)
    }

    /// JSON has no NaN: a run without validation examples (`validationCount` 0) records its
    /// validation loss and accuracy as the string "NaN" (spec/CHECKPOINT.md §3).
    static let nonFinite = (positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    /// The header's bytes: keys sorted, no whitespace.
    static func encodeHeader(_ header: some Encodable) throws(TrainingError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        do { return Array(try encoder.encode(header)) } catch {
            throw .io(path: "<checkpoint>", reason: "cannot encode header: \(error)")
        }
    }

    /// The header as `type`; a missing member or one of the wrong type is named by its JSON path.
    static func decodeHeader<T: Decodable>(_ type: T.Type, from json: Data, path: String) throws(TrainingError) -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        do { return try decoder.decode(type, from: json) } catch {
            throw .invalidCheckpoint(path: path, reason: "unreadable header: \(describe(error))")
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
}

/// The JSON header of every checkpoint (spec/CHECKPOINT.md §3): the run's settings, the counters and
/// history of ``RunState``, the data set's identity, and what one kind of model adds (`timeSteps`
/// for images; `tokenizer`, `truncation` and `vocabulary` for texts). Members a kind does not use
/// are absent, so a version-1 image header is byte for byte what rnn-train 1.0 wrote.
struct CheckpointHeader<Configuration: Codable>: Codable {
    /// `image` or `text` in version 2; absent in version 1 (an image run).
    var kind: String?
    var configuration: Configuration
    var epoch, stepInEpoch, globalStep, adamStep: Int
    var epochLossSum: Double
    var epochCorrect, epochSeen: Int
    var epochSeconds, trainSeconds: Double
    var history: [EpochRecord]
    /// Runs that keep their best epoch, once one has finished: its 1-based number, and the epochs
    /// finished since (`epoch - bestEpoch`, stored so that early stopping resumes from what the file
    /// says, and checked against it). Absent otherwise, and in checkpoints written before they were
    /// added (the best epoch is then the first with the highest validation accuracy, that rule's choice).
    var bestEpoch, epochsSinceImprovement: Int?
    var datasetName: String
    var datasetSHA256: [String: String]
    var classNames: [String]
    /// Images: the image height = time steps.
    var timeSteps: Int?
    /// Texts: the tokenizer rules (`words-v1`), which end of a long review is cut (`start`), and the
    /// vocabulary (ids 2, 3, ...).
    var tokenizer: String?
    var truncation: String?
    var vocabulary: [String]?
    /// Feature sequences: which files the run read (`ts` or `npy`), and the standardization's
    /// per-feature mean and std as binary32 bit patterns (absent for a run without standardization).
    var sequenceFiles: String?
    var inputMeanBits: [UInt32]?
    var inputStdBits: [UInt32]?

    /// The header of `state` in a run configured by `configuration`.
    init<W>(kind: String?, configuration: Configuration, state s: RunState<W>, datasetName: String,
            datasetSHA256: [String: String], classNames: [String]) {
        self.kind = kind
        self.configuration = configuration
        epoch = s.epoch
        stepInEpoch = s.stepInEpoch
        globalStep = s.globalStep
        adamStep = s.optimizer.step
        epochLossSum = s.epochLossSum
        epochCorrect = s.epochCorrect
        epochSeen = s.epochSeen
        epochSeconds = s.epochSeconds
        trainSeconds = s.trainSeconds
        history = s.history
        bestEpoch = s.bestEpoch
        epochsSinceImprovement = s.bestEpoch.map { _ in s.epochsSinceImprovement }
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.classNames = classNames
    }

    /// The data set's identity (spec/CHECKPOINT.md §4.3.1): a name, and SHA-256s that are 64
    /// lowercase hex digits.
    func validateIdentity(path: String) throws(TrainingError) {
        func check(_ ok: Bool, _ reason: @autoclosure () -> String) throws(TrainingError) {
            if !ok { throw .invalidCheckpoint(path: path, reason: reason()) }
        }
        try check(!datasetName.isEmpty, "datasetName must not be empty")
        for (file, digest) in datasetSHA256 {
            try check(!file.isEmpty, "datasetSHA256 has an empty file name")
            try check(digest.utf8.count == 64 && digest.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) },
                      "datasetSHA256[\(quoted(file))] must be 64 lowercase hex digits, got \(quoted(digest))")
        }
    }

    /// The state this header and `contents`' arrays describe (spec/CHECKPOINT.md §4.3.2, §4.2):
    /// finite weights and first moments, finite non-negative second moments, best weights exactly
    /// when the run keeps them (else all zero), counters that satisfy ``RunState/validate(_:)``.
    /// `optimizer` is a fresh one of the run (its β1, β2, ε and weight decay), whose moments and step
    /// the file's replace; `make` builds the model's weights from values; `checkShape` is the model's
    /// own size check.
    func state<W>(_ contents: CheckpointFile.Contents, settings: LoopSettings, optimizer fresh: AdamOptimizer,
                  path: String, make: ([Float]) -> W,
                  checkShape: (RunState<W>) throws(StateInconsistency) -> Void) throws(TrainingError) -> RunState<W> {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let values = contents.arrays[0], first = contents.arrays[1], second = contents.arrays[2]
        if let k = values.firstIndex(where: { !$0.isFinite }) { throw fail("weight \(k) is \(values[k]); weights are finite") }
        if let k = first.firstIndex(where: { !$0.isFinite }) {
            throw fail("Adam first moment \(k) is \(first[k]); moments are finite")
        }
        // v is a running mean of squared gradients: a negative one would make sqrt(v) NaN on the next step.
        if let k = second.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw fail("Adam second moment \(k) is \(second[k]); expected finite and >= 0")
        }
        var optimizer = fresh
        optimizer.firstMoment = first
        optimizer.secondMoment = second
        optimizer.step = adamStep
        var state = RunState(parameters: make(values), optimizer: optimizer)
        state.epoch = epoch
        state.stepInEpoch = stepInEpoch
        state.globalStep = globalStep
        state.epochLossSum = epochLossSum
        state.epochCorrect = epochCorrect
        state.epochSeen = epochSeen
        state.epochSeconds = epochSeconds
        state.trainSeconds = trainSeconds
        state.history = history
        if contents.arrays.count > 3 {
            let best = contents.arrays[3]
            if settings.keepsBestEpoch && epoch > 0 {
                if let k = best.firstIndex(where: { !$0.isFinite }) { throw fail("best epoch's weight \(k) is \(best[k]); weights are finite") }
                state.best = make(best)
                state.bestEpoch = try bestEpochOrDerived(fail)
            } else if let k = best.firstIndex(where: { $0.bitPattern != 0 }) {
                throw fail("best epoch's weight \(k) is \(best[k]); expected 0: "
                    + (settings.keepsBestEpoch ? "no epoch has finished" : "the run keeps no best epoch (configuration.validationCount 0, or an image run without patience)"))
            }
        }
        if state.best == nil && (bestEpoch != nil || epochsSinceImprovement != nil) {
            throw fail("bestEpoch and epochsSinceImprovement must be absent without best weights, got \(bestEpoch.map(String.init) ?? "none") and \(epochsSinceImprovement.map(String.init) ?? "none")")
        }
        do {
            try checkShape(state)
            try state.validate(settings)
        } catch { throw fail(error.reason) }
        return state
    }

    /// The header's best epoch, with `epochsSinceImprovement` checked against it (both or neither);
    /// for a checkpoint written before they existed, the first epoch with the highest validation
    /// accuracy (the rule that chose its best weights). Its range is ``RunState/validate(_:)``'s check.
    private func bestEpochOrDerived(_ fail: (String) -> TrainingError) throws(TrainingError) -> Int? {
        switch (bestEpoch, epochsSinceImprovement) {
        case (let n?, let since?):
            guard since == epoch - n else {
                throw fail("epochsSinceImprovement must be epoch - bestEpoch = \(epoch) - \(n) = \(epoch - n), got \(since)")
            }
            return n
        case (nil, nil):
            guard let top = history.map(\.validationAccuracy).max() else { return nil }
            return history.firstIndex { $0.validationAccuracy == top }.map { $0 + 1 }
        case (let n, let since):
            throw fail("bestEpoch and epochsSinceImprovement must both be present or both absent, got \(n.map(String.init) ?? "none") and \(since.map(String.init) ?? "none")")
        }
    }
}

extension RunState {
    /// The arrays a checkpoint of `version` stores: weights, `m`, `v`, and from version 2 the best
    /// epoch's weights (zero when there are none).
    func checkpointArrays(version: UInt32) -> [[Float]] {
        let arrays = [parameters.values, optimizer.firstMoment, optimizer.secondMoment]
        guard CheckpointFile.arrayCount(version: version) > 3 else { return arrays }
        return arrays + [best?.values ?? [Float](repeating: 0, count: parameters.values.count)]
    }
}

/// A checkpoint of either kind, as `rnn-train --resume` and `rnn-train export` read it.
package enum AnyCheckpoint: Sendable, Equatable {
    case image(Checkpoint)
    case text(TextCheckpoint)
    case sequence(SequenceCheckpoint)
    /// A convolutional run (`rnn-train --arch cnn`).
    case cnn(ConvCheckpoint)

    /// Parses checkpoint bytes of either kind (the header's `kind`); `path` is only used in error messages.
    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        let contents = try CheckpointFile.decode(bytes, path: path)
        switch contents.kind {
        case "text": self = .text(try TextCheckpoint(contents, path: path))
        case "sequence": self = .sequence(try SequenceCheckpoint(contents, path: path))
        case "cnn": self = .cnn(try ConvCheckpoint(contents, path: path))
        default: self = .image(try Checkpoint(contents, path: path))
        }
    }

    /// Reads a checkpoint file of either kind.
    package static func read(from path: String) throws(TrainingError) -> AnyCheckpoint {
        try AnyCheckpoint(decoding: try readFile(path, limit: CheckpointFile.maximumFileBytes), path: path)
    }

    /// The checkpoint's bytes.
    package func encoded() throws(TrainingError) -> [UInt8] {
        switch self {
        case .image(let c): try c.encoded()
        case .text(let c): try c.encoded()
        case .sequence(let c): try c.encoded()
        case .cnn(let c): try c.encoded()
        }
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
