import RNNSupport
import RNNTraining

/// The JSON-lines run log: one object per finished epoch, then one for the final test evaluation.
/// Lines are flushed as written, so the log of an interrupted run is complete up to the interrupt.
final class RunLog {
    private let file: UnsafeMutablePointer<FILE>
    let path: String

    /// Opens `path`, appending when resuming and truncating otherwise.
    init(path: String, append: Bool) throws(TrainingError) {
        guard let f = fopen(path, append ? "a" : "w") else {
            throw .io(path: path, reason: "cannot open the run log: \(String(cString: strerror(errno)))")
        }
        file = f
        self.path = path
    }

    deinit { fclose(file) }

    func write(_ fields: [(String, JSONField)]) throws(TrainingError) {
        let body = fields.map { "\"\($0.0)\":\($0.1.text)" }.joined(separator: ",")
        let line = "{\(body)}\n"
        let ok = line.utf8CString.withUnsafeBufferPointer { fputs($0.baseAddress!, file) } >= 0 && fflush(file) == 0
        if !ok { throw .io(path: path, reason: "cannot write the run log: \(String(cString: strerror(errno)))") }
    }

    func epoch(_ r: EpochRecord) throws(TrainingError) {
        try write([("epoch", .number(Double(r.epoch))), ("train_loss", .number(r.trainLoss)),
                   ("train_acc", .number(r.trainAccuracy)), ("val_loss", .number(r.validationLoss)),
                   ("val_acc", .number(r.validationAccuracy)), ("seconds", .number(r.seconds)),
                   ("lr", .number(r.learningRate)), ("steps", .number(Double(r.steps)))])
    }
}

/// A JSON scalar for the run log.
enum JSONField {
    case number(Double)
    case string(String)

    var text: String {
        switch self {
        case .number(let v):
            guard v.isFinite else { return "null" }
            return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
        case .string(let s):
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                default:
                    if scalar.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) } else { out.unicodeScalars.append(scalar) }
                }
            }
            return out + "\""
        }
    }
}
