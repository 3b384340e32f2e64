/// One line of a feature stream (what `rnn-infer stream` reads from standard input): one time
/// step's features, a `reset` of the sequence, or nothing.
///
/// Grammar, with JSON's whitespace (space, tab, CR, LF) allowed around every token:
///
/// - `reset` (lower case): ``reset``, the next step starts a new sequence;
/// - a JSON array of one or more numbers, `[0.5, -1, 2e-3]`: ``step(_:)``. Numbers follow RFC 8259
///   exactly (no `+`, no leading zeros, no `.5`, no trailing comma, no `NaN` or `Infinity`) and are
///   rounded once, from their text, to the nearest `Float`; one beyond `Float`'s range is an
///   error, one too small for it becomes a subnormal or zero;
/// - nothing but whitespace: ``empty``. A blank line is not an error, so that a person typing
///   steps by hand or a producer that ends its output with an extra newline is not stopped; the
///   caller skips it (it is neither a step nor a reset).
///
/// A line longer than ``maximumLineBytes`` is refused before it is scanned. The parser is a pure
/// function of the line; the caller reads the lines (and bounds its own line buffer by the same
/// limit) and adds the line number to an error's message.
public enum StreamLine: Equatable, Sendable {
    /// `reset`: the next step starts a new sequence.
    case reset
    /// One time step's features.
    case step([Float])
    /// A blank line: nothing to do.
    case empty

    /// The longest line accepted: 1 MiB (the line end included, when the caller passes it).
    public static let maximumLineBytes = 1 << 20

    /// Parses one line (with or without its line end); with `features`, a step must have exactly
    /// that many.
    public static func parse(_ line: some StringProtocol, features: Int? = nil) throws(StreamLineError) -> StreamLine {
        try parse(Array(line.utf8), features: features)
    }

    /// Parses one line's bytes (with or without its line end); with `features`, a step must have
    /// exactly that many.
    public static func parse(_ line: [UInt8], features: Int? = nil) throws(StreamLineError) -> StreamLine {
        guard line.count <= maximumLineBytes else { throw .lineTooLong(bytes: line.count, limit: maximumLineBytes) }
        var position = 0
        func skipWhitespace() {
            while position < line.count, [0x20, 0x09, 0x0A, 0x0D].contains(line[position]) { position += 1 }
        }
        func syntax(_ expected: String) -> StreamLineError {
            .syntax(column: position + 1, expected: expected, found: excerpt(line[position...], nothing: "the end of the line"))
        }
        skipWhitespace()
        if position == line.count { return .empty }
        if line[position...].starts(with: "reset".utf8) {
            position += 5
            skipWhitespace()
            guard position == line.count else { throw syntax("the end of the line after reset") }
            return .reset
        }
        guard line[position] == UInt8(ascii: "[") else { throw syntax("'reset' or '['") }
        position += 1
        var values: [Float] = []
        skipWhitespace()
        if position < line.count, line[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                skipWhitespace()
                if let word = nonFiniteWord(line, at: position) { throw .notFinite(feature: values.count + 1, found: word) }
                guard let end = DecimalNumber.end(of: line, from: position, grammar: .json) else {
                    throw syntax(values.isEmpty ? "a number or ']'" : "a number after ','")
                }
                guard let value = DecimalNumber.float(line, position ..< end) else {
                    throw .overflow(feature: values.count + 1, text: excerpt(line[position ..< end]))
                }
                values.append(value)
                position = end
                skipWhitespace()
                if position < line.count, line[position] == UInt8(ascii: ",") { position += 1; continue }
                guard position < line.count, line[position] == UInt8(ascii: "]") else { throw syntax("',' or ']'") }
                position += 1
                break
            }
        }
        skipWhitespace()
        guard position == line.count else { throw syntax("the end of the line after ']'") }
        guard !values.isEmpty else { throw .emptyStep }
        if let features, values.count != features { throw .featureCount(expected: features, found: values.count) }
        return .step(values)
    }

    /// `NaN`, `Infinity`, `-Infinity`, `inf` ... (any case, either sign) at `position`, quoted; nil
    /// for anything else. These get their own message: they are what Python's `json.dumps` writes
    /// for non-finite floats.
    private static func nonFiniteWord(_ line: [UInt8], at position: Int) -> String? {
        var end = position
        if end < line.count, line[end] == UInt8(ascii: "-") || line[end] == UInt8(ascii: "+") { end += 1 }
        while end < line.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(line[end] | 0x20) { end += 1 }
        return DecimalNumber.isNonFiniteWord(line[position ..< end]) ? excerpt(line[position ..< end]) : nil
    }
}
