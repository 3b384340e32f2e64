/// A parsed JSON value (RFC 8259), as the metadata section holds it (spec §6).
///
/// Numbers keep their source text so that integers beyond 2^53 (a 64-bit seed) survive
/// exactly and so that "is this an integer?" is a question about the text, not about a Double.
package enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in source order; keys are unique (the parser refuses duplicates).
    case object([(String, JSONValue)])

    package static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// A number's text as written (for messages); nil for other values.
    var numberText: String? { if case .number(let text) = self { text } else { nil } }

    /// The name of the value's JSON type, for messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The member called `key` of an object.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
}

// MARK: - Canonical encoding (spec §6.4)

/// Serialises a ``JSONValue`` canonically: members sorted by the UTF-8 bytes of their keys, no
/// white space, strings and numbers as ECMAScript's `JSON.stringify` writes them.
package enum CanonicalJSON {
    package static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let text): out += Array(text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.0, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.1, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `"` and `\` as `\"` and `\\`; U+0008, U+0009, U+000A, U+000C, U+000D as `\b \t \n \f \r`;
    /// other code points below U+0020 as `\u00xx` (lowercase hex); everything else as UTF-8.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                        digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// An integer as decimal digits.
    static func integer(_ v: some BinaryInteger) -> JSONValue { .number(String(v)) }

    /// A finite binary64 number as ECMAScript's `Number::toString` writes it: the shortest digit
    /// string that round-trips, plain notation for decimal exponents in (-7, 21), else `d.ddde±x`.
    static func number(_ v: Double) -> JSONValue {
        precondition(v.isFinite, "callers check finiteness first")
        return .number(ecmaScriptString(v))
    }

    static func ecmaScriptString(_ v: Double) -> String {
        if v == 0 { return "0" }
        // Swift's description is the shortest round-trip representation; take its digits and exponent.
        var text = v.magnitude.description
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var digits = ""
        var pointPosition: Int? = nil
        for ch in text {
            if ch == "." { pointPosition = digits.count } else { digits.append(ch) }
        }
        var n = (pointPosition ?? digits.count) + exponent
        // Strip leading zeros (each shifts the decimal point) and trailing zeros.
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); n -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let sign = v < 0 ? "-" : ""
        if k <= n && n <= 21 {
            return sign + digits + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            let cut = digits.index(digits.startIndex, offsetBy: n)
            return sign + digits[..<cut] + "." + digits[cut...]
        }
        if -6 < n && n <= 0 {
            return sign + "0." + String(repeating: "0", count: -n) + digits
        }
        let e = n - 1
        let expText = (e < 0 ? "-" : "+") + String(e.magnitude)
        if k == 1 { return sign + digits + "e" + expText }
        return sign + String(digits.first!) + "." + digits.dropFirst() + "e" + expText
    }
}
