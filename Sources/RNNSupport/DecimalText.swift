/// Decimal text for the command-line tools' messages and records, the same in every locale.
///
/// Foundation's `String(format:)` is locale-aware and slow in an output loop, and `"\(value)"`
/// switches to exponents; these write plain digits. Rounding is half away from zero on the
/// scaled value (`0.125` at two decimals is "0.13"). RNNReport keeps its own `printf`-rounded
/// `Format` for the report pages (`0.125` is "0.12" there): moving them to this rounding would
/// change the pages' text.

/// `value` with exactly `digits` decimals ("0.9871", "12.0"); a value that rounds to zero has no
/// sign. Not finite, or too large for exact digits (1e17 after scaling): Swift's description.
package func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return String(describing: value) }
    var power = 1.0
    for _ in 0..<digits { power *= 10 }
    let scaled = (abs(value) * power).rounded()
    guard scaled < 1e17 else { return String(describing: value) }
    let n = Int(scaled)
    let whole = n / Int(power), fraction = n % Int(power)
    let digitsText = String(fraction)
    let sign = value < 0 && n != 0 ? "-" : ""
    if digits == 0 { return sign + String(whole) }
    return sign + String(whole) + "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
}

/// `value` with exactly `digits` decimals (see ``fixed(_:_:)-(Double,_)``).
package func fixed(_ value: Float, _ digits: Int) -> String { fixed(Double(value), digits) }

/// A fraction in 0...1 as a percentage with `digits` decimals ("98.71%").
package func percent(_ fraction: Double, _ digits: Int = 2) -> String { fixed(fraction * 100, digits) + "%" }
