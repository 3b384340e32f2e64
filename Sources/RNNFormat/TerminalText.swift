import RNNSupport

/// Text from a file made safe to print on a terminal.
///
/// Labels, layer names and provenance strings are any UTF-8 (spec §6): a model file can carry an
/// escape sequence that clears the screen, moves the cursor or rewrites the line above, and a
/// bidirectional override that makes text read differently from its bytes. `rnn-infer inspect`
/// and the table output print such strings through ``escaped(_:)``, as the CSV, JSON and SVG
/// writers escape for their formats.
public enum TerminalText {
    /// `text` with every control character written as a visible escape, JSON style: `\n`, `\t`,
    /// `\r`, otherwise `\u001b` (C0 controls, DEL, the C1 controls U+0080 - U+009F, and the
    /// bidirectional embedding, override and isolate characters U+202A - U+202E, U+2066 - U+2069).
    /// A backslash is doubled, so the output is unambiguous. Other text, including non-ASCII
    /// letters, is unchanged.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        return JSONText.escaped(text, quotes: false, alsoEscaping: needsEscape)
    }

    private static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x5C: true
        default: false
        }
    }
}
