import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Format 1.1: the `embedding` layer, the `tokens` input and the version rules of spec §3.
struct IMDbFormatTests {
    @Test func aTokensModelIsWrittenAsVersion1Point1AndReadsBack() throws {
        let model = FixtureModels.tinyText()
        let bytes = try ModelWriter.encode(model)
        #expect(bytes.u16(at: 10) == 1 && bytes.u16(at: 14) == 1)   // format_minor, min_reader_minor
        #expect(try ModelReader.decode(bytes) == model)
        #expect(try ModelReader.decode(try ModelWriter.encode(model, options: .uncompressed)) == model)
    }

    @Test func aModelWithoutNewFeaturesStaysVersion1Point0() throws {
        let bytes = try ModelWriter.encode(TestModels.tiny())
        #expect(bytes.u16(at: 10) == 0 && bytes.u16(at: 14) == 0)
    }

    @Test func aVersion1Point0ReaderRefusesATokensModelNamingTheVersionItNeeds() throws {
        let bytes = try ModelWriter.encode(FixtureModels.tinyText())
        do {
            _ = try ModelReader.decode(bytes, readerMinor: 0)
            Issue.record("a 1.0 reader loaded a 1.1 file")
        } catch {
            #expect(error.kind == .unsupportedVersion)
            #expect(error.message.contains("needs a reader >= 1.1"), "\(error.message)")
        }
        // The same reader still reads every 1.0 file.
        #expect(try ModelReader.decode(try ModelWriter.encode(TestModels.tiny()), readerMinor: 0) == TestModels.tiny())
    }

    @Test func tokenizerLowercasesASCIIOnlyRemovesBreaksAndTrimsApostrophes() {
        #expect(WordTokenizer.words(in: "Don't STOP<br />believin'!") == ["don't", "stop", "believin"])
        #expect(WordTokenizer.words(in: "<BR />br 'quoted' ''") == ["br", "quoted"])
        #expect(WordTokenizer.words(in: "CAFÉ café naïve—ok 10/10") == ["cafÉ", "café", "naïve—ok", "10", "10"])
        #expect(WordTokenizer.words(in: "a<br/>b") == ["a", "br", "b"])   // only the exact markup `<br />`
        #expect(WordTokenizer.words(in: "") == [])
    }

    @Test func encoderMapsUnknownWordsToOneAndKeepsTheEndOfLongTexts() {
        let tokens = TokenInput(maxLength: 3, truncation: .start, vocabulary: ["good", "bad"])
        let encoder = TokenEncoder(tokens)
        #expect(encoder.allTokenIDs("Good plot, BAD acting") == [2, 1, 3, 1])
        #expect(encoder.tokenIDs("Good plot, BAD acting") == [1, 3, 1])
        var head = tokens
        head.truncation = .end
        #expect(TokenEncoder(head).tokenIDs("Good plot, BAD acting") == [2, 1, 3])
        #expect(encoder.tokenIDs("!!!").isEmpty)
    }

    @Test func vocabularyWordsMustBeWordsTheTokenizerProduces() {
        for bad in ["", "The", "'quoted", "two words", "a<b"] {
            var m = FixtureModels.tinyText()
            m.metadata.input.tokens!.vocabulary[0] = bad
            #expect(errorKind { _ = try ModelWriter.encode(m) } == .malformed, "\(bad)")
        }
    }

    @Test func anEmbeddingMustComeFirstAndMatchTheVocabulary() {
        var m = FixtureModels.tinyText()
        m.metadata.input.tokens!.vocabulary.append("extra")   // 7 words + 2 != vocab_size 8
        #expect(errorKind { _ = try ModelWriter.encode(m) } == .malformed)
        var image = FixtureModels.tinyText()
        image.metadata.input = InputContract(height: 4, width: 1, scale: 1, offset: 0)
        #expect(errorKind { _ = try ModelWriter.encode(image) } == .malformed)
    }
}
