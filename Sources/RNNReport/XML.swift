import RNNSupport

/// Escaping for text and attribute values placed in SVG, HTML and XML documents.
///
/// Every figure and page in this module passes caller-supplied strings (class names such as
/// "T-shirt/top", model names, findings) through ``escaped(_:)``, so that no label can break the
/// document or inject markup.
package enum XML {
    /// `text` with the five XML special characters replaced by entities, and control characters
    /// other than tab and newline (which XML 1.0 forbids even as references) replaced by U+FFFD.
    package static func escaped(_ text: String) -> String {
        text.replacingScalars { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            case "\t", "\n": nil
            // XML 1.0 §2.2: C0 controls (except tab, LF, CR) and U+FFFE/U+FFFF are not characters.
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: "\u{FFFD}"
            default: nil
            }
        }
    }
}
