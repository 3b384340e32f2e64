/// Text from a model file made safe to print on a terminal.
///
/// Labels, layer names and provenance strings come from files anyone can write. Printed raw, a
/// control character could rewrite the terminal (ANSI escape sequences start with ESC, 0x1B, or
/// the C1 control U+009B), and a newline or tab would break line- and column-based output. Machine
/// formats have their own escaping (CSV quoting, JSON `\u` escapes, XML entities); this is the one
/// escaping for everything printed for people.
public enum DisplayText {
    /// `text` with every control character (C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F) and the
    /// backslash written as a visible escape: `\n`, `\t`, `\r`, `\\`, else `\u{1B}` (hexadecimal, as
    /// in Swift). Every other character, printable Unicode included, is unchanged.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            case _ where needsEscape(scalar): out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\\"
    }
}
