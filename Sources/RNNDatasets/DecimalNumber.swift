import RNNSupport

/// Decimal number text in the two grammars the sequence readers accept, scanned over bytes, and
/// its conversion to the nearest `Float`.
///
/// The scan decides what is a number; the conversion is Swift's correctly rounded `Float(_:)`
/// (one rounding, straight from the decimal text, never through `Double`), given only text the scan
/// accepted, so that `Float(_:)`'s own extras (`nan`, `inf`, hexadecimal) never get through.
enum DecimalNumber {
    enum Grammar {
        /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` (stream lines).
        case json
        /// The finite decimals of Python's `float()`, what sktime reads `.ts` values with:
        /// `[+-]? ([0-9]+ (. [0-9]*)? | . [0-9]+) ([eE] [+-]? [0-9]+)?` (`1.`, `.5`, `+2`, `007`).
        case python
    }

    /// The index just past the number that starts at `start`, or nil when no number of `grammar`
    /// starts there. The number is the longest match: the caller checks what follows it.
    static func end(of bytes: [UInt8], from start: Int, grammar: Grammar) -> Int? {
        var position = start
        func digits() -> Int {
            let first = position
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            return position - first
        }
        func skip(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }
        if !skip(UInt8(ascii: "-")) && grammar == .python { _ = skip(UInt8(ascii: "+")) }
        let whole = position
        let wholeDigits = digits()
        switch grammar {
        case .json:
            // One digit, or a nonzero digit first: no leading zeros.
            guard wholeDigits == 1 || (wholeDigits > 1 && bytes[whole] != UInt8(ascii: "0")) else { return nil }
            if skip(UInt8(ascii: ".")) { guard digits() > 0 else { return nil } }
        case .python:
            let fractionDigits = skip(UInt8(ascii: ".")) ? digits() : 0
            guard wholeDigits + fractionDigits > 0 else { return nil }
        }
        if skip(UInt8(ascii: "e")) || skip(UInt8(ascii: "E")) {
            if !skip(UInt8(ascii: "+")) { _ = skip(UInt8(ascii: "-")) }
            // "1e" is a number in neither grammar (Python's float() refuses it too).
            guard digits() > 0 else { return nil }
        }
        return position
    }

    /// The nearest `Float` to the number text `bytes[range]` (already accepted by ``end(of:from:grammar:)``),
    /// or nil when it rounds to infinity: beyond `Float.greatestFiniteMagnitude` by more than half a unit
    /// in the last place. Values too small for binary32 round to a subnormal or to (signed) zero.
    static func float(_ bytes: [UInt8], _ range: Range<Int>) -> Float? {
        guard let value = Float(String(decoding: bytes[range], as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    /// The nearest `Double`, or nil when it rounds to infinity (a `.ts` regression target).
    static func double(_ bytes: [UInt8], _ range: Range<Int>) -> Double? {
        guard let value = Double(String(decoding: bytes[range], as: UTF8.self)), value.isFinite else { return nil }
        return value
    }

    /// Whether `text` is one of the words other readers write for a non-finite float: `nan`, `inf`,
    /// `infinity`, in any case, with or without a sign (Python's `float()` and `json.dumps`,
    /// C's `printf`). The readers refuse them with a message of their own.
    static func isNonFiniteWord(_ text: some Collection<UInt8>) -> Bool {
        let word = String(decoding: text, as: UTF8.self).lowercased().drop { $0 == "-" || $0 == "+" }
        return word == "nan" || word == "inf" || word == "infinity"
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
