import Testing
import RNNSupport

/// The decimal and JSON text every tool writes.
@Suite struct TextTests {
    @Test func fixedWritesExactDigitsRoundingHalfAwayFromZero() {
        #expect(fixed(0.98712, 2) == "0.99")
        #expect(fixed(12.0, 1) == "12.0")
        #expect(fixed(0.125, 2) == "0.13")
        #expect(fixed(-0.125, 2) == "-0.13")
        #expect(fixed(-0.0001, 2) == "0.00")  // no "-0.00"
        #expect(fixed(2.5, 0) == "3")
        #expect(fixed(0.00001, 4) == "0.0000")  // never an exponent
        #expect(fixed(123456.789, 1) == "123456.8")
        #expect(fixed(Float(0.5), 3) == "0.500")
        #expect(fixed(Double.nan, 2) == "nan")
        #expect(fixed(-Double.infinity, 2) == "-inf")
        #expect(percent(0.98712) == "98.71%")
        #expect(percent(1, 1) == "100.0%")
    }

    @Test func jsonStringsEscapeQuotesBackslashesAndControls() {
        #expect(JSONText.quoted("plain ü") == "\"plain ü\"")
        #expect(JSONText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quoted("\n\r\t\u{1B}\u{0}\u{7F}") == #""\n\r\t\u001b\u0000""# .dropLast() + "\u{7F}\"")
        #expect(JSONText.escaped("say \"hi\"\n", quotes: false) == #"say "hi"\n"#)
        #expect(JSONText.escaped("\u{202E}x", alsoEscaping: { $0.value == 0x202E }) == #"\u202ex"#)
    }

    @Test func replacingScalarsKeepsWhatIsNotReplaced() {
        #expect("a<b>c".replacingScalars { $0 == "<" ? "[" : $0 == ">" ? "]" : nil } == "a[b]c")
        #expect("e\u{301}".replacingScalars { _ in nil } == "e\u{301}")  // scalars, not characters
    }
}
