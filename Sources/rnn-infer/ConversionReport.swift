import RNNFormat
import RNNSupport

/// The one-line summary `rnn-infer convert` prints: what was stored how, the file sizes, and the
/// largest change of any weight (so a user sees the cost of the smaller file at once).
struct ConversionReport {
    var source: ModelFile
    var converted: ModelFile
    /// The sizes of the two files in bytes. The input's is taken before the output is written,
    /// because `convert X X` replaces the input.
    var inputBytes: Int?
    var outputBytes: Int?

    /// e.g. `4 tensors int8, 4 f32; 509136 -> 131200 bytes (25.8 %); largest weight change 0.0021 (dense_out.weight)`.
    var line: String {
        var counts: [DType: Int] = [:]
        for t in converted.tensors { counts[t.dtype, default: 0] += 1 }
        let stored = DType.allCases.compactMap { d in counts[d].map { "\($0) tensor\($0 == 1 ? "" : "s") \(d)" } }
        var text = stored.joined(separator: ", ")
        if let before = inputBytes, let after = outputBytes, before > 0 {
            text += "; \(before) -> \(after) bytes (\(fixed(Double(after) / Double(before) * 100, 1)) %)"
        }
        let (change, name) = largestChange
        text += "; largest weight change \(change) (\(name))"
        return text
    }

    /// The largest `|w' - w|` over all tensors, with the tensor's name.
    var largestChange: (Float, String) {
        var best: (Float, String) = (0, "none")
        for (a, b) in zip(source.tensors, converted.tensors) {
            let x = a.floatValues(), y = b.floatValues()
            for i in x.indices where abs(y[i] - x[i]) > best.0 { best = (abs(y[i] - x[i]), a.name) }
        }
        return best
    }

    /// The size of the file at `path`, or nil if it cannot be read.
    static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int(info.st_size)
    }
}
