import Testing
@testable import RNNFormat

/// Spec §6.2.1 looks words up by their bytes. Swift's `String` equality is canonical equivalence,
/// so an encoder keyed by `String` gave the decomposed `cafe\u{301}` the id of the precomposed
/// vocabulary word `café`, where the Python reference (and the spec) give id 1. Found by
/// `fuzz/run.sh tokenizer`; the input is rebuilt here from its two spellings.
struct TokenEncoderBytesTests {
    static let precomposed = "caf\u{E9}"      // 63 61 66 c3 a9
    static let decomposed = "cafe\u{301}"     // 63 61 66 65 cc 81

    @Test func canonicallyEquivalentSpellingsAreDifferentWords() {
        // The premise: Swift calls them equal, their bytes differ.
        #expect(Self.precomposed == Self.decomposed)
        #expect(Array(Self.precomposed.utf8) != Array(Self.decomposed.utf8))

        let encoder = TokenEncoder(TokenInput(maxLength: 8, vocabulary: ["the", Self.precomposed]))
        #expect(encoder.allTokenIDs("The \(Self.decomposed) \(Self.precomposed)") == [2, 1, 3])
        #expect(encoder.id(of: Self.decomposed) == 1)
        #expect(encoder.id(of: Self.precomposed) == 3)

        // Both spellings in one vocabulary are two words with two ids.
        let both = TokenEncoder(TokenInput(maxLength: 8, vocabulary: [Self.decomposed, Self.precomposed]))
        #expect(both.allTokenIDs("\(Self.precomposed) \(Self.decomposed)") == [3, 2])
    }
}
