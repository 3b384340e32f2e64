extension String {
    /// This text with every Unicode scalar for which `replacement` returns a string replaced by
    /// that string; the others are kept.
    ///
    /// The one loop behind the package's escapers (JSON strings, terminal text, XML), which differ
    /// only in what they replace.
    package func replacingScalars(_ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if let replaced = replacement(scalar) { out += replaced } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}

/// JSON string escaping (RFC 8259 §7), for the records, logs and reports the tools write.
package enum JSONText {
    /// `text` as a JSON string literal, quotes included: `"`, `\` and the control characters
    /// escaped (`\n`, `\r`, `\t`, otherwise `\u001b`); everything else, non-ASCII included, as is.
    package static func quoted(_ text: String) -> String {
        "\"" + escaped(text) + "\""
    }

    /// `text` with JSON-style escapes: a backslash doubled, `\n`, `\t`, `\r`, and every C0 control
    /// character (and every scalar for which `alsoEscaping` is true) as `\u` and four lowercase hex
    /// digits; a quote as `\"` unless `quotes` is false (for text that is not inside a JSON string,
    /// such as ``TerminalText``'s).
    package static func escaped(_ text: String, quotes: Bool = true,
                                alsoEscaping: (Unicode.Scalar) -> Bool = { _ in false }) -> String {
        text.replacingScalars { scalar in
            switch scalar {
            case "\\": "\\\\"
            case "\"" where quotes: "\\\""
            case "\n": "\\n"
            case "\t": "\\t"
            case "\r": "\\r"
            case _ where scalar.value < 0x20 || alsoEscaping(scalar): unicodeEscape(scalar)
            default: nil
            }
        }
    }

    /// `\u` and the scalar's value in (at least) four lowercase hex digits.
    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
