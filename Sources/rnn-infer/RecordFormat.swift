import ArgumentParser
import RNNFormat
import RNNRuntime
import RNNSupport

/// How `classify` prints one line per image.
enum RecordFormat: String, ExpressibleByArgument, CaseIterable {
    /// Aligned columns for people; the `--labels` report follows on standard output.
    case table
    /// RFC 4180 comma-separated values with a header row.
    case csv
    /// One JSON array of objects.
    case json
    /// One JSON object per line.
    case ndjson

    /// Whether the output is meant for programs (then reports go to standard error).
    var isMachineReadable: Bool { self != .table }
}

/// Formats records in one ``RecordFormat``; `topK == 0` leaves the top-k columns out.
struct RecordFormatter {
    let format: RecordFormat
    let topK: Int

    /// Text before the first record.
    func header() -> String {
        switch format {
        case .table:
            var line = pad("index", 8) + "  " + pad("class", 5) + "  " + pad("label", 12) + "  probability"
            if topK > 0 { line += "  top-\(topK)" }
            return line + "\n"
        case .csv:
            var fields = ["index", "class", "label", "probability"]
            for k in 0..<topK { fields += ["top\(k + 1)_class", "top\(k + 1)_label", "top\(k + 1)_probability"] }
            return fields.joined(separator: ",") + "\r\n"
        case .json:
            return "["
        case .ndjson:
            return ""
        }
    }

    /// One image's record; `index` counts from 0 over the whole input.
    func record(index: Int, result: BatchResult, row: Int, first: Bool) -> String {
        let predicted = result.predictions[row]
        let label = result.labels[predicted]
        let probability = result.probabilities[row * result.classCount + predicted]
        let top = topK > 0 ? result.top(topK, of: row) : []
        switch format {
        case .table:
            // Labels come from the model file: escaped so that control characters cannot reach the terminal.
            var line = pad(String(index), 8) + "  " + pad(String(predicted), 5) + "  " + pad(TerminalText.escaped(label), 12) + "  " + fixed(probability, 4)
            if topK > 0 {
                line += "     " + top.map { "\(TerminalText.escaped($0.label)) \(fixed($0.probability, 4))" }.joined(separator: ", ")
            }
            return line + "\n"
        case .csv:
            var fields = [String(index), String(predicted), csvField(label), shortest(probability)]
            for t in top { fields += [String(t.classIndex), csvField(t.label), shortest(t.probability)] }
            return fields.joined(separator: ",") + "\r\n"
        case .json, .ndjson:
            var object = "{\"index\":\(index),\"class\":\(predicted),\"label\":\(JSONText.quoted(label)),\"probability\":\(shortest(probability))"
            if topK > 0 {
                object += ",\"top_k\":[" + top.map {
                    "{\"class\":\($0.classIndex),\"label\":\(JSONText.quoted($0.label)),\"probability\":\(shortest($0.probability))}"
                }.joined(separator: ",") + "]"
            }
            object += "}"
            if format == .ndjson { return object + "\n" }
            return (first ? "\n" : ",\n") + object
        }
    }

    /// Text after the last record.
    func footer(empty: Bool) -> String {
        format == .json ? (empty ? "]\n" : "\n]\n") : ""
    }
}

/// `text` left-aligned in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// `text` right-aligned in `width` columns.
func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// The shortest decimal that reads back as the same binary32, valid as a JSON number.
func shortest(_ value: Float) -> String {
    value.isFinite ? String(describing: value) : "null"
}

/// A CSV field, quoted when it contains a comma, quote or line break (RFC 4180).
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    var out = "\""
    for character in text { out += character == "\"" ? "\"\"" : String(character) }
    return out + "\""
}
