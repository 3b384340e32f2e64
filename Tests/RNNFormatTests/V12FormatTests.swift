import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Format 1.2's version rules (spec §3): a file that uses any 1.2 kind or rule is written as 1.2 and
/// refused by a 1.1 reader with "needs a reader >= 1.2"; files that use nothing new keep their bytes.
struct V12FormatTests {
    /// One model per 1.2 feature, each using nothing else of 1.2 (image rows input where possible).
    static let features: [(String, ModelFile)] = [
        ("gru", FixtureModels.tinyGRU()),
        ("bidirectional lstm", FixtureModels.recurrent(seed: 31, source: .image(height: 4, width: 3),
                                                       cells: [.lstm(2, bidirectional: true)], labels: ["no", "yes"])),
        ("features input", FixtureModels.recurrent(seed: 32, source: .features(width: 3, maxLength: 5, standardized: true),
                                                   cells: [.lstm(2)], labels: ["no", "yes"])),
        ("per-step outputs", FixtureModels.recurrent(seed: 33, source: .image(height: 4, width: 3),
                                                     cells: [.lstm(2, returns: .sequence)], labels: ["no", "yes"])),
        ("values", FixtureModels.recurrent(seed: 34, source: .image(height: 4, width: 3), cells: [.lstm(2)],
                                           labels: ["y"], output: .values)),
    ]

    @Test(arguments: features.map(\.0))
    func aVersion1Point1ReaderRefusesA1Point2FileNamingTheVersionItNeeds(feature: String) throws {
        let model = try #require(Self.features.first { $0.0 == feature }).1
        for options in [WriteOptions(), WriteOptions.uncompressed] {
            let bytes = try ModelWriter.encode(model, options: options)
            #expect(bytes.u16(at: 10) == 2 && bytes.u16(at: 14) == 2, "\(feature): format_minor and min_reader_minor are 2")
            do {
                _ = try ModelReader.decode(bytes, readerMinor: 1)
                Issue.record("a 1.1 reader loaded a 1.2 file (\(feature))")
            } catch {
                #expect(error.kind == .unsupportedVersion, "\(feature)")
                #expect(error.message.contains("needs a reader >= 1.2"), "\(feature): \(error.message)")
            }
            #expect(try ModelReader.decode(bytes, readerMinor: 2) == model, "\(feature)")
        }
    }

    @Test func filesUsingNothingOf1Point2KeepTheirVersionAndAreReadByOlderReaders() throws {
        let image = try ModelWriter.encode(FixtureModels.tiny())
        #expect(image.u16(at: 10) == 0 && image.u16(at: 14) == 0)
        #expect(try ModelReader.decode(image, readerMinor: 0) == FixtureModels.tiny())
        let text = try ModelWriter.encode(FixtureModels.tinyText())
        #expect(text.u16(at: 10) == 1 && text.u16(at: 14) == 1)
        #expect(try ModelReader.decode(text, readerMinor: 1) == FixtureModels.tinyText())
        // The canonical writer omits `direction` for a forward layer and writes no 1.2 member at all.
        let json = String(decoding: try MetadataEncoding.bytes(FixtureModels.tiny().metadata), as: UTF8.self)
        for member in ["direction", "reset", "_reverse", "\"values\"", "features"] {
            #expect(!json.contains(member), "\(member)")
        }
    }

    @Test func aFileClaimingAnOlderReaderForA1Point2FeatureIsMalformed() throws {
        for (feature, model) in Self.features {
            var raw = RawFile(model).withOptions(.init())
            raw.formatMinor = 1
            raw.minReaderMinor = 1
            do {
                _ = try ModelReader.decode(raw.bytes())
                Issue.record("\(feature): loaded with min_reader_minor 1")
            } catch {
                #expect(error.kind == .malformed, "\(feature): \(error)")
                #expect(error.message.contains("min_reader_minor"), "\(feature): \(error.message)")
            }
        }
    }

    @Test func everyGood1Point2FixtureNeedsReader1Point2() throws {
        let files = FixtureCorpus.goodModels().filter { $0.why.hasPrefix("format 1.2") }
        #expect(files.count >= 7)
        for item in files {
            #expect(item.bytes.u16(at: 14) == 2, "\(item.file)")
            #expect(throws: ModelFormatError.self, "\(item.file)") { _ = try ModelReader.decode(item.bytes, readerMinor: 1) }
        }
    }
}
