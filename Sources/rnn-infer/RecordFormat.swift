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

/// Writes `classify`'s records as bytes, exactly the text of ``RecordFormatter/record(index:result:row:first:)``
/// (which stays the definition of the format), without the Strings, arrays and joins that cost
/// microseconds a record: the label columns are formatted once per class, and numbers are written
/// digit by digit into the caller's buffer.
struct RecordWriter {
    let format: RecordFormat
    let topK: Int
    /// Each class's label as the record's label column shows it: table padded to 12 columns and
    /// escaped, CSV quoted when needed, JSON a quoted string.
    private let labelColumns: [[UInt8]]
    /// Each class's label as a top-k entry shows it (the table's is escaped but not padded).
    private let topLabels: [[UInt8]]

    init(format: RecordFormat, topK: Int, labels: [String]) {
        self.format = format
        self.topK = topK
        switch format {
        case .table:
            labelColumns = labels.map { Array(pad(TerminalText.escaped($0), 12).utf8) }
            topLabels = labels.map { Array(TerminalText.escaped($0).utf8) }
        case .csv:
            labelColumns = labels.map { Array(csvField($0).utf8) }
            topLabels = labelColumns
        case .json, .ndjson:
            labelColumns = labels.map { Array(JSONText.quoted($0).utf8) }
            topLabels = labelColumns
        }
    }

    /// Appends image `index`'s record (row `row` of `result`) to `out`.
    func append(index: Int, result: BatchResult, row: Int, first: Bool, to out: inout [UInt8]) {
        let predicted = result.predictions[row]
        let probability = result.probabilities[row * result.classCount + predicted]
        let label = labelColumns[predicted]
        let top = topK > 0 ? result.top(topK, of: row) : []
        switch format {
        case .table:
            appendPadded(index, width: 8, to: &out)
            appendLiteral("  ", to: &out)
            appendPadded(predicted, width: 5, to: &out)
            appendLiteral("  ", to: &out)
            out.append(contentsOf: label)
            appendLiteral("  ", to: &out)
            appendFixed4(probability, to: &out)
            if topK > 0 {
                appendLiteral("     ", to: &out)
                for (k, entry) in top.enumerated() {
                    if k > 0 { appendLiteral(", ", to: &out) }
                    out.append(contentsOf: topLabels[entry.classIndex])
                    out.append(UInt8(ascii: " "))
                    appendFixed4(entry.probability, to: &out)
                }
            }
            out.append(UInt8(ascii: "\n"))
        case .csv:
            appendDecimal(index, to: &out)
            out.append(UInt8(ascii: ","))
            appendDecimal(predicted, to: &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: label)
            out.append(UInt8(ascii: ","))
            appendShortest(probability, to: &out)
            for entry in top {
                out.append(UInt8(ascii: ","))
                appendDecimal(entry.classIndex, to: &out)
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: topLabels[entry.classIndex])
                out.append(UInt8(ascii: ","))
                appendShortest(entry.probability, to: &out)
            }
            appendLiteral("\r\n", to: &out)
        case .json, .ndjson:
            if format == .json { appendLiteral(first ? "\n" : ",\n", to: &out) }
            appendLiteral("{\"index\":", to: &out)
            appendDecimal(index, to: &out)
            appendLiteral(",\"class\":", to: &out)
            appendDecimal(predicted, to: &out)
            appendLiteral(",\"label\":", to: &out)
            out.append(contentsOf: label)
            appendLiteral(",\"probability\":", to: &out)
            appendShortest(probability, to: &out)
            if topK > 0 {
                appendLiteral(",\"top_k\":[", to: &out)
                for (k, entry) in top.enumerated() {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    appendLiteral("{\"class\":", to: &out)
                    appendDecimal(entry.classIndex, to: &out)
                    appendLiteral(",\"label\":", to: &out)
                    out.append(contentsOf: topLabels[entry.classIndex])
                    appendLiteral(",\"probability\":", to: &out)
                    appendShortest(entry.probability, to: &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "}"))
            if format == .ndjson { out.append(UInt8(ascii: "\n")) }
        }
    }
}

/// Appends the decimal digits of `value` (`String(value)`).
func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    guard value >= 0 else {
        out.append(contentsOf: String(value).utf8)
        return
    }
    var divisor = 1
    while divisor <= value / 10 { divisor &*= 10 }
    var rest = value
    repeat {
        out.append(UInt8(truncatingIfNeeded: rest / divisor) &+ UInt8(ascii: "0"))
        rest %= divisor
        divisor /= 10
    } while divisor > 0
}

/// Appends the UTF-8 bytes of a literal.
func appendLiteral(_ text: StaticString, to out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
}

/// Appends `pad(String(value), width)`: the digits, then spaces up to `width` columns.
func appendPadded(_ value: Int, width: Int, to out: inout [UInt8]) {
    let start = out.count
    appendDecimal(value, to: &out)
    let written = out.count - start
    if written < width { out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: width - written)) }
}

/// Appends `fixed(value, 4)` (RNNSupport): four decimals, half away from zero on the scaled
/// value, computed in Double exactly as `fixed` does; the rare values `fixed` gives Swift's
/// description for (not finite, huge) go through `fixed` itself.
func appendFixed4(_ value: Float, to out: inout [UInt8]) {
    let double = Double(value)
    let scaled = (abs(double) * 10_000).rounded()
    guard double.isFinite, scaled < 1e17 else {
        out.append(contentsOf: fixed(value, 4).utf8)
        return
    }
    let n = Int(scaled)
    if double < 0 && n != 0 { out.append(UInt8(ascii: "-")) }
    appendDecimal(n / 10_000, to: &out)
    out.append(UInt8(ascii: "."))
    let fraction = n % 10_000
    out.append(UInt8(ascii: "0") + UInt8(fraction / 1000))
    out.append(UInt8(ascii: "0") + UInt8(fraction / 100 % 10))
    out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
    out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
}

/// Appends ``shortest(_:)``: the shortest decimal that reads back as the same binary32, or `null`.
func appendShortest(_ value: Float, to out: inout [UInt8]) {
    guard value.isFinite else {
        appendLiteral("null", to: &out)
        return
    }
    var text = value.description
    text.withUTF8 { out.append(contentsOf: $0) }
}
