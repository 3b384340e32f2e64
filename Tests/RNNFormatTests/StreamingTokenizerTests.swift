import Testing
@testable import RNNFormat

/// The streaming `words-v1` tokenizer (``WordScanner``, ``TokenSequence``) against a direct
/// transcription of spec §6.2.1 (the whole-text algorithm the project used before streaming), on
/// texts built to hit every rule at every chunk boundary.
@Suite struct StreamingTokenizerTests {
    /// Spec §6.2.1 on a whole text: lower-case, blank every `<br />` scanning left to right, split
    /// into maximal runs of word bytes, trim `'` at both ends, drop empty words.
    static func referenceWords(_ text: [UInt8]) -> [[UInt8]] {
        var bytes = text.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        let markup = Array("<br />".utf8)
        var i = 0
        while i + markup.count <= bytes.count {
            if Array(bytes[i..<(i + markup.count)]) == markup {
                for k in i..<(i + markup.count) { bytes[k] = 0x20 }
                i += markup.count
            } else {
                i += 1
            }
        }
        return bytes.split(whereSeparator: { !WordTokenizer.isWordByte($0) }).compactMap { run in
            let trimmed = run.drop(while: { $0 == 0x27 }).reversed().drop(while: { $0 == 0x27 }).reversed()
            return trimmed.isEmpty ? nil : Array(trimmed)
        }
    }

    /// Random texts from pieces that interact: markup and its prefixes, apostrophes, capitals, UTF-8.
    static func randomText(_ rng: inout SystemRandomNumberGenerator, pieces: Int) -> [UInt8] {
        let parts = ["<br />", "<BR />", "<br", "<br /", "<", "<<br />", "br", "'", "''", "a", "Zz", "don't",
                     " ", "\n", "é", "—", "10/10", "x'y", "<br /><br />", "'<br />'", "\u{0}", "\u{7F}"]
        return (0..<pieces).flatMap { _ in Array(parts.randomElement(using: &rng)!.utf8) }
    }

    @Test func streamingInRandomChunksEqualsTheSpecOnWholeTexts() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = Self.randomText(&rng, pieces: Int.random(in: 0...40, using: &rng))
            let expected = Self.referenceWords(text)
            // Whole text at once (what WordTokenizer.words does)...
            #expect(WordTokenizer.words(text).map(Array.init) == expected, "\(text)")
            // ...and split into random chunks, as a reader delivers it.
            var scanner = WordScanner()
            var words: [[UInt8]] = []
            var start = 0
            while start < text.count {
                let end = min(text.count, start + Int.random(in: 1...7, using: &rng))
                scanner.scan(text[start..<end]) { if case .word(let w) = $0 { words.append(Array(w)) } }
                start = end
            }
            scanner.finish { if case .word(let w) = $0 { words.append(Array(w)) } }
            #expect(words == expected, "\(text)")
        }
    }

    @Test func tokenSequenceEqualsTruncatedIDsForEveryChunkingAndBothEnds() {
        var rng = SystemRandomNumberGenerator()
        let vocabulary = ["a", "zz", "don't", "br", "é", "10", "x'y"]
        for truncation in [TokenInput.Truncation.start, .end] {
            for maxLength in [1, 2, 3, 5, 50] {
                let encoder = TokenEncoder(TokenInput(maxLength: maxLength, truncation: truncation, vocabulary: vocabulary))
                for _ in 0..<200 {
                    let text = Self.randomText(&rng, pieces: Int.random(in: 0...60, using: &rng))
                    let all = Self.referenceWords(text).map { encoder.id(of: String(decoding: $0, as: UTF8.self)) }
                    var sequence = TokenSequence(encoder)
                    var start = 0
                    while start < text.count {
                        let end = min(text.count, start + Int.random(in: 1...9, using: &rng))
                        sequence.append(text[start..<end])
                        start = end
                    }
                    #expect(sequence.finish() == encoder.truncate(all), "\(text)")
                    #expect(sequence.finish() == [], "a finished sequence starts empty")
                }
            }
        }
    }

    @Test func wordsLongerThanTheVocabularyAreOutOfVocabularyWithoutBeingKept() {
        let encoder = TokenEncoder(TokenInput(maxLength: 10, vocabulary: ["ab", "abc"]))
        #expect(encoder.longestWordBytes == 3)
        // `''abc''` trims to a vocabulary word although its run is longer than 3 bytes.
        #expect(encoder.tokenIDs("''abc'' abcd abc'x ab") == [3, 1, 1, 2])
        var scanner = WordScanner(maxWordBytes: 3)
        var found: [WordScanner.Word] = []
        scanner.scan(Array(("x" + String(repeating: "y", count: 100_000) + " ab").utf8)) { found.append($0) }
        scanner.finish { found.append($0) }
        #expect(found == [.overlong, .word(ArraySlice(Array("ab".utf8)))])
    }
}

