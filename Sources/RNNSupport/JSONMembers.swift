/// The members of one JSON object (RFC 8259) that hold a number or a string: how line-oriented
/// logs such as rnn-train's run log are read back.
///
/// Any JSON text whose top level is an object parses; members holding `true`, `false`, `null`, an
/// array or an object are checked and then dropped, so `number(_:)` and `string(_:)` return nil for
/// them as for a missing member. Numbers are converted by Swift's correctly rounded `Double(_:)`, so
/// a value written as Swift's shortest text reads back bit for bit (Foundation's `JSONSerialization`
/// on Linux can be one unit in the last place off). Member names are compared by their UTF-8 bytes;
/// of repeated names the last wins. Nesting deeper than ``maximumDepth`` is refused, which bounds the
/// recursion on hostile text.
package struct JSONMembers: Sendable {
    private enum Value: Sendable {
        case number(Double)
        case string(String)
    }

    private var members: [[UInt8]: Value] = [:]

    /// The deepest nesting of arrays and objects accepted, the top-level object included.
    package static let maximumDepth = 64

    /// Parses `text`; nil when it is not exactly one JSON object (surrounding whitespace allowed).
    package init?(parsing text: String) {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{"), parser.skipValue(depth: 0, into: &members) else { return nil }
        parser.skipWhitespace()
        guard parser.atEnd else { return nil }
    }

    /// The member `name` if it holds a number (possibly infinite, when written out of range).
    package func number(_ name: String) -> Double? {
        if case .number(let value)? = members[Array(name.utf8)] { value } else { nil }
    }

    /// The member `name` if it holds a string.
    package func string(_ name: String) -> String? {
        if case .string(let value)? = members[Array(name.utf8)] { value } else { nil }
    }

    /// A recursive-descent reader over the UTF-8 bytes; each method returns false (or nil) on the
    /// first byte that breaks the grammar.
    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }
        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { position += 1 }
        }

        /// Reads one value. At depth 0 (the top-level object) its number and string members are
        /// stored in `members`; deeper values are only checked.
        mutating func skipValue(depth: Int, into members: inout [[UInt8]: Value]) -> Bool {
            skipWhitespace()
            switch peek {
            case UInt8(ascii: "{"):
                return depth < JSONMembers.maximumDepth && elements(closedBy: UInt8(ascii: "}")) { parser in
                    guard let name = parser.string() else { return false }
                    parser.skipWhitespace()
                    guard parser.peek == UInt8(ascii: ":") else { return false }
                    parser.position += 1
                    parser.skipWhitespace()
                    guard depth == 0 && parser.isScalarStart else { return parser.skipValue(depth: depth + 1, into: &members) }
                    guard let value = parser.scalar() else { return false }
                    members[Array(name.utf8)] = value
                    return true
                }
            case UInt8(ascii: "["):
                return depth < JSONMembers.maximumDepth && elements(closedBy: UInt8(ascii: "]")) { parser in
                    parser.skipValue(depth: depth + 1, into: &members)
                }
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return scalar() != nil
            }
        }

        /// Reads an array or object from its opening bracket to `close`: no elements, or elements
        /// read by `element` and separated by commas.
        mutating func elements(closedBy close: UInt8, _ element: (inout Parser) -> Bool) -> Bool {
            position += 1
            skipWhitespace()
            if peek == close { position += 1; return true }
            while true {
                skipWhitespace()
                guard element(&self) else { return false }
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                if peek == close { position += 1; return true }
                return false
            }
        }

        /// Whether the next value is a string or a number (the values ``scalar()`` reads).
        var isScalarStart: Bool {
            guard let b = peek else { return false }
            return b == UInt8(ascii: "\"") || b == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }

        /// A string or a number; nil for anything else, or one that does not parse.
        mutating func scalar() -> Value? {
            guard isScalarStart else { return nil }
            if peek == UInt8(ascii: "\"") { return string().map(Value.string) }
            return number().map(Value.number)
        }

        mutating func literal(_ word: String) -> Bool {
            guard bytes[position...].starts(with: word.utf8) else { return false }
            position += word.utf8.count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() -> Double? {
            let start = position
            func digits() -> Int {
                let first = position
                while let b = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { position += 1 }
                return position - first
            }
            if peek == UInt8(ascii: "-") { position += 1 }
            if peek == UInt8(ascii: "0") { position += 1 } else if digits() == 0 { return nil }
            if peek == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { return nil }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { return nil }
            }
            return Double(String(decoding: bytes[start..<position], as: UTF8.self))
        }

        /// A string literal with its escapes resolved; nil for a raw control character, a bad
        /// escape or an unpaired surrogate.
        mutating func string() -> String? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            position += 1
            var out: [UInt8] = []
            while let b = peek {
                position += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(validating: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = peek else { return nil }
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {  // a high surrogate: its low half follows
                            guard peek == UInt8(ascii: "\\") else { return nil }
                            position += 1
                            guard peek == UInt8(ascii: "u") else { return nil }
                            position += 1
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }  // a lone low surrogate
                        UTF8.encode(scalar) { out.append($0) }
                    default: return nil
                    }
                case 0x00..<0x20: return nil
                default: out.append(b)
                }
            }
            return nil
        }

        /// The four hex digits of a `\u` escape.
        mutating func hex4() -> UInt32? {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let b = peek else { return nil }
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }
    }
}
