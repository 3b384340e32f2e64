/// A strict RFC 8259 parser for the metadata section (spec §6).
///
/// Hostile input is expected: the text is size-checked by the caller, its nesting depth is
/// measured by a linear scan before parsing (so recursion is bounded), its UTF-8 is validated,
/// and duplicate object keys are refused. Errors are `malformed` naming the byte offset.
struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0

    /// Parses `bytes` as one JSON text.
    static func parse(_ bytes: [UInt8], maxDepth: Int = Format.maxJSONDepth) throws(ModelFormatError) -> JSONValue {
        let depth = nestingDepth(bytes)
        if depth.max > maxDepth {
            throw .limitExceeded("metadata: JSON nesting depth reaches \(depth.max) at byte \(depth.offset); the limit is \(maxDepth) (spec §9)")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw .malformed("metadata: the JSON text starts with a byte-order mark; spec §6 requires UTF-8 without BOM")
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            let offset = firstInvalidUTF8(bytes) ?? 0
            throw .malformed("metadata: byte \(offset) of the JSON text is not valid UTF-8")
        }
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position != bytes.count {
            throw .malformed("metadata: unexpected \(parser.describeCurrent()) at byte \(parser.position) after the JSON value")
        }
        return value
    }

    /// The depth rule of spec §6: the largest number of `[` / `{` open at once, counting only
    /// bytes outside strings (a string starts and ends at an unescaped `"`).
    static func nestingDepth(_ bytes: [UInt8]) -> (max: Int, offset: Int) {
        var depth = 0, maxDepth = 0, maxOffset = 0
        var inString = false, escaped = false
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                continue
            }
            switch b {
            case 0x22: inString = true
            case 0x5B, 0x7B:
                depth += 1
                if depth > maxDepth { maxDepth = depth; maxOffset = i }
            case 0x5D, 0x7D: depth -= 1
            default: break
            }
        }
        return (maxDepth, maxOffset)
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + 4)
            var ok = false
            for len in 1...4 where i + len <= end {
                if String(validating: bytes[i..<(i + len)], as: UTF8.self) != nil { i += len; ok = true; break }
            }
            if !ok { return i }
        }
        return nil
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func describeCurrent() -> String {
        guard let c = current else { return "end of text" }
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte \(hex(c))"
    }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    private func fail(_ expected: String) -> ModelFormatError {
        .malformed("metadata is not valid JSON: expected \(expected) at byte \(position), found \(describeCurrent())")
    }

    private mutating func parseValue() throws(ModelFormatError) -> JSONValue {
        guard let c = current else { throw fail("a value") }
        switch c {
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case 0x22: return .string(try parseString())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return try parseNumber()
        default: throw fail("a value")
        }
    }

    private mutating func literal(_ word: String) throws(ModelFormatError) {
        for b in word.utf8 {
            guard current == b else { throw fail("'\(word)'") }
            position += 1
        }
    }

    private mutating func parseObject() throws(ModelFormatError) -> JSONValue {
        position += 1  // {
        var members: [(String, JSONValue)] = []
        var keys = Set<UTF8Key>()  // compared after unescaping, by code points (spec §6)
        skipWhitespace()
        if current == 0x7D { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == 0x22 else { throw fail("a member name in quotes") }
            let keyOffset = position
            let key = try parseString()
            if !keys.insert(UTF8Key(key)).inserted {
                throw .malformed("metadata: duplicate member \"\(key)\" at byte \(keyOffset); spec §6 forbids duplicate keys")
            }
            skipWhitespace()
            guard current == 0x3A else { throw fail("':'") }
            position += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            if current == 0x2C { position += 1; continue }
            if current == 0x7D { position += 1; return .object(members) }
            throw fail("',' or '}'")
        }
    }

    private mutating func parseArray() throws(ModelFormatError) -> JSONValue {
        position += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if current == 0x5D { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            if current == 0x2C { position += 1; continue }
            if current == 0x5D { position += 1; return .array(items) }
            throw fail("',' or ']'")
        }
    }

    private mutating func parseNumber() throws(ModelFormatError) -> JSONValue {
        let start = position
        if current == 0x2D { position += 1 }
        guard let first = current, first >= 0x30 && first <= 0x39 else { throw fail("a digit") }
        if first == 0x30 { position += 1 } else { skipDigits() }
        if current == 0x2E {
            position += 1
            guard let d = current, d >= 0x30 && d <= 0x39 else { throw fail("a digit after '.'") }
            skipDigits()
        }
        if current == 0x65 || current == 0x45 {
            position += 1
            if current == 0x2B || current == 0x2D { position += 1 }
            guard let d = current, d >= 0x30 && d <= 0x39 else { throw fail("a digit in the exponent") }
            skipDigits()
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        // Spec §6: every number, in known members or not, must have a finite binary64 value.
        guard let value = Double(text), value.isFinite else {
            throw .malformed("metadata: the number \(text.prefix(40)) at byte \(start) overflows binary64; JSON numbers in .rnnm metadata are finite")
        }
        return .number(text)
    }

    private mutating func skipDigits() {
        while let c = current, c >= 0x30 && c <= 0x39 { position += 1 }
    }

    private mutating func parseString() throws(ModelFormatError) -> String {
        position += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard let c = current else { throw fail("'\"' to end the string") }
            switch c {
            case 0x22:
                position += 1
                return String(decoding: out, as: UTF8.self)
            case 0x5C:
                position += 1
                guard let e = current else { throw fail("an escape character") }
                position += 1
                switch e {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard current == 0x5C, position + 1 < bytes.count, bytes[position + 1] == 0x75 else {
                            throw .malformed("metadata: unpaired UTF-16 surrogate escape before byte \(position)")
                        }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw .malformed("metadata: unpaired UTF-16 surrogate escape before byte \(position)")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw .malformed("metadata: unpaired UTF-16 surrogate escape before byte \(position)")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    position -= 1
                    throw fail("one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u")
                }
            case 0..<0x20:
                throw fail("an escaped control character (RFC 8259 forbids raw ones in strings)")
            default:
                out.append(c)
                position += 1
            }
        }
    }

    private mutating func hex4() throws(ModelFormatError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw fail("four hex digits") }
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("four hex digits")
            }
            v = v << 4 | d
            position += 1
        }
        return v
    }
}
