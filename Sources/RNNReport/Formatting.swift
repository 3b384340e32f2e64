import Foundation

/// Number formatting shared by the figures and pages (and rnn-report's messages): fixed decimals,
/// thousands separators, byte sizes and percentages, independent of the process locale (reports
/// must read the same everywhere).
///
/// Decimals round like `printf` (the binary value, ties to even: 0.125 is "0.12"), unlike the
/// command-line tools' `fixed` in RNNSupport (half away from zero on the scaled value: "0.13");
/// the pages keep this rounding so that their text does not change.
package enum Format {
    /// `value` with exactly `digits` decimals ("0.98", "12.0"); "n/a" when not finite.
    package static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        return String(format: "%.\(max(0, digits))f", locale: nil, value)
    }

    /// An integer with thin groups of three ("109,386").
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, character) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// A fraction in 0...1 as a percentage with `digits` decimals ("98.71%").
    static func percent(_ fraction: Double, _ digits: Int = 2) -> String {
        fixed(fraction * 100, digits) + "%"
    }

    /// A byte count in B, KiB or MiB with three significant-ish digits ("427.6 KiB").
    static func bytes(_ count: Int) -> String {
        let value = Double(count)
        if count < 1024 { return "\(count) B" }
        if value < 1024 * 1024 { return fixed(value / 1024, value < 10 * 1024 ? 2 : 1) + " KiB" }
        return fixed(value / (1024 * 1024), value < 10 * 1024 * 1024 ? 2 : 1) + " MiB"
    }

    /// A rate or other positive quantity with a short suffix ("12.3k", "1.20M").
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        let magnitude = abs(value)
        if magnitude == 0 { return "0" }
        if magnitude < 1e4 && value == value.rounded() { return String(Int(value)) }
        if magnitude >= 1e6 { return fixed(value / 1e6, magnitude >= 1e7 ? 1 : 2) + "M" }
        if magnitude >= 1e4 { return fixed(value / 1e3, magnitude >= 1e5 ? 0 : 1) + "k" }
        if magnitude >= 100 { return fixed(value, 0) }
        if magnitude >= 1 { return fixed(value, magnitude >= 10 ? 1 : 2) }
        return fixed(value, 3)
    }

    /// A tick label: as few decimals as the tick step needs.
    static func tick(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(6, Int((-log10(step)).rounded(.up)))
        let text = fixed(value, decimals)
        return text == "-0" ? "0" : text
    }
}
