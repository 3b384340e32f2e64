import Foundation
import RNNFormat

/// A training checkpoint: everything needed to continue a run bit for bit.
///
/// File layout (`.ckpt`, all integers little-endian):
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
public struct Checkpoint: Sendable, Equatable {
    /// The run's settings.
    public var configuration: TrainingConfiguration
    /// Weights, optimizer moments and counters.
    public var state: TrainingState
    /// Data set identity, so that a resumed run can refuse different data.
    public var datasetName: String
    /// File name -> SHA-256 of the data the run uses.
    public var datasetSHA256: [String: String]
    /// Class names, exported as the model's labels.
    public var classNames: [String]
    /// Time steps (image height) the model was trained on.
    public var timeSteps: Int

    /// A checkpoint of `state` in the run configured by `configuration`.
    public init(configuration: TrainingConfiguration, state: TrainingState, datasetName: String,
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
    public func encoded() throws(TrainingError) -> [UInt8] {
        let s = state
        let header = Header(configuration: configuration, epoch: s.epoch, stepInEpoch: s.stepInEpoch,
                            globalStep: s.globalStep, adamStep: s.optimizer.step, epochLossSum: s.epochLossSum,
                            epochCorrect: s.epochCorrect, epochSeen: s.epochSeen, epochSeconds: s.epochSeconds,
                            trainSeconds: s.trainSeconds, history: s.history, datasetName: datasetName,
                            datasetSHA256: datasetSHA256, classNames: classNames, timeSteps: timeSteps)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: [UInt8]
        do { json = Array(try encoder.encode(header)) } catch {
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
    public init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        guard bytes.count >= 40 else { throw fail("file is \(bytes.count) bytes, shorter than the 40-byte minimum") }
        guard Array(bytes[0..<8]) == Self.magic else { throw fail("wrong magic (not an rnn-train checkpoint)") }
        let version: UInt32 = readLittleEndian(bytes, 8)
        guard version == Self.version else { throw fail("version \(version), this trainer reads version \(Self.version)") }
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
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[32..<(32 + Int(jsonCount))])) } catch {
            throw fail("unreadable header: \(error)")
        }
        do { try header.configuration.validate() } catch { throw fail("invalid configuration: \(error)") }
        let architecture = header.configuration.architecture
        guard architecture.layout.count == Int(p) else {
            throw fail("\(p) parameters stored, the architecture needs \(architecture.layout.count)")
        }
        let count = Int(p)
        func floats(_ index: Int) -> [Float] {
            let base = 32 + Int(jsonCount) + index * 4 * count
            return (0..<count).map { Float(bitPattern: readLittleEndian(bytes, base + 4 * $0)) }
        }
        let values = floats(0)
        guard values.allSatisfy(\.isFinite) else { throw fail("non-finite weights") }
        var optimizer = AdamOptimizer(parameterCount: count, beta1: header.configuration.beta1,
                                      beta2: header.configuration.beta2, epsilon: header.configuration.epsilon)
        optimizer.firstMoment = floats(1)
        optimizer.secondMoment = floats(2)
        optimizer.step = header.adamStep
        var state = TrainingState(parameters: LSTMParameters(architecture: architecture, values: values), optimizer: optimizer)
        state.epoch = header.epoch
        state.stepInEpoch = header.stepInEpoch
        state.globalStep = header.globalStep
        state.epochLossSum = header.epochLossSum
        state.epochCorrect = header.epochCorrect
        state.epochSeen = header.epochSeen
        state.epochSeconds = header.epochSeconds
        state.trainSeconds = header.trainSeconds
        state.history = header.history
        self.init(configuration: header.configuration, state: state, datasetName: header.datasetName,
                  datasetSHA256: header.datasetSHA256, classNames: header.classNames, timeSteps: header.timeSteps)
    }

    /// Writes the checkpoint atomically (temporary file in the same directory, fsync, rename).
    public func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// Reads a checkpoint file.
    public static func read(from path: String) throws(TrainingError) -> Checkpoint {
        try Checkpoint(decoding: try readFile(path, limit: 12 * maximumParameters + maximumHeaderBytes + 40), path: path)
    }
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

