import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Format 1.3's `pool` layer (spec §6.1) and its version rules (spec §3): a pooled file is written as
/// 1.3, refused by a 1.2 reader with "needs a reader >= 1.3", and read back equal; every older file
/// keeps its version and its bytes; each placement and member rule has its error class.
struct V13FormatTests {
    static let pooled: [(String, ModelFile)] = [
        ("gru + mean pool", FixtureModels.tinyPool()),
        ("bidirectional gru + mean pool", FixtureModels.micro13()),
        ("bidirectional lstm + max pool", FixtureModels.recurrent(
            seed: 40, source: .features(width: 4, maxLength: 6, standardized: true),
            cells: [.lstm(3, bidirectional: true)], labels: ["a", "b"], pool: .max)),
        ("stacked + max pool, values", FixtureModels.recurrent(
            seed: 41, source: .image(height: 4, width: 3), cells: [.lstm(2), .gru(3)], labels: ["y"],
            output: .values, pool: .max)),
    ]

    @Test(arguments: pooled.map(\.0))
    func aVersion1Point2ReaderRefusesAPooledFileNamingTheVersionItNeeds(name: String) throws {
        let model = try #require(Self.pooled.first { $0.0 == name }).1
        for options in [WriteOptions(), WriteOptions.uncompressed] {
            let bytes = try ModelWriter.encode(model, options: options)
            #expect(bytes.u16(at: 10) == 3 && bytes.u16(at: 14) == 3, "\(name): format_minor and min_reader_minor are 3")
            do {
                _ = try ModelReader.decode(bytes, readerMinor: 2)
                Issue.record("a 1.2 reader loaded a 1.3 file (\(name))")
            } catch {
                #expect(error.kind == .unsupportedVersion, "\(name)")
                #expect(error.message.contains("needs a reader >= 1.3"), "\(name): \(error.message)")
            }
            let read = try ModelReader.decode(bytes)
            #expect(read == model, "\(name)")
            #expect(!read.metadata.outputsPerStep, "\(name): a pooled model has one output per sequence")
            #expect(try ModelWriter.encode(read, options: options) == bytes, "\(name): rewritten byte for byte")
        }
    }

    @Test func thePoolLayerIsWrittenCanonically() throws {
        let json = String(decoding: try MetadataEncoding.bytes(FixtureModels.tinyPool().metadata), as: UTF8.self)
        #expect(json.contains(#"{"mode":"mean","name":"pool","size":4,"type":"pool"}"#), "\(json)")
    }

    @Test func olderFilesKeepTheirVersions() throws {
        #expect(try ModelWriter.encode(FixtureModels.tiny()).u16(at: 14) == 0)
        #expect(try ModelWriter.encode(FixtureModels.tinyText()).u16(at: 14) == 1)
        #expect(try ModelWriter.encode(FixtureModels.tinyGRU()).u16(at: 14) == 2)
        // A per-step model (1.2) stays per-step; the same layers with a pool are 1.3 and per sequence.
        let perStep = FixtureModels.recurrent(seed: 42, source: .image(height: 4, width: 3),
                                              cells: [.lstm(2, returns: .sequence)], labels: ["no", "yes"])
        #expect(perStep.metadata.outputsPerStep && ModelChecks.minimumReaderMinor(perStep.metadata) == 2)
    }

    @Test func everyGood1Point3FixtureNeedsReader1Point3() throws {
        for item in FixtureCorpus.v13Models() {
            #expect(item.bytes.u16(at: 14) == 3, "\(item.file)")
            let model = try ModelReader.decode(item.bytes)
            #expect(model.metadata.poolLayer != nil, "\(item.file)")
        }
    }

    /// Each rule the writer shares with the reader (ModelChecks): an in-memory model that breaks it is
    /// refused before any byte is written, with the reader's class.
    @Test func theWriterRefusesAMisplacedOrMisSizedPool() throws {
        var cases: [(String, ModelFile)] = []
        var m = FixtureModels.micro13()
        m.metadata.layers[1] = .pool(PoolLayer(name: "pool", mode: .mean, size: 2))
        cases.append(("size is H, not 2H", m))
        m = FixtureModels.micro13()
        m.metadata.layers.insert(.pool(PoolLayer(name: "pool2", mode: .max, size: 4)), at: 2)
        cases.append(("two pools", m))
        m = FixtureModels.micro13()
        guard case .gru(var g) = m.metadata.layers[0] else { Issue.record("micro13 starts with a gru"); return }
        g.returns = .last
        m.metadata.layers[0] = .gru(g)
        cases.append(("after a layer returning last", m))
        for (name, model) in cases {
            #expect(throws: ModelFormatError.self, "\(name)") { try ModelWriter.encode(model) }
            do { _ = try ModelWriter.encode(model) } catch { #expect(error.kind == .malformed, "\(name): \(error.message)") }
        }
    }
}
