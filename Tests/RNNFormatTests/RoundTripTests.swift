import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

@Suite struct RoundTripTests {
    @Test(arguments: DType.allCases)
    func everyDTypeRoundTripsWithBothCodecs(dtype: DType) throws {
        let model = TestModels.tiny(dtype: dtype)
        #expect(model.tensors.allSatisfy { $0.dtype == dtype })
        for options in [WriteOptions(), .uncompressed, WriteOptions(metadataCodec: .none, tensorCodec: .zstd(level: 3))] {
            let bytes = try ModelWriter.encode(model, options: options)
            #expect(try ModelReader.decode(bytes) == model)
        }
    }

    @Test func encodingTwiceGivesIdenticalBytes() throws {
        let model = TestModels.withProvenance()
        let a = try ModelWriter.encode(model)
        // Rebuild the dictionaries so that their internal order can differ.
        var copy = model
        copy.metadata.provenance.hyperparameters = Dictionary(uniqueKeysWithValues: model.metadata.provenance.hyperparameters.reversed())
        copy.metadata.provenance.metrics = Dictionary(uniqueKeysWithValues: model.metadata.provenance.metrics.shuffled())
        let b = try ModelWriter.encode(copy)
        #expect(a == b)
        #expect(try ModelReader.decode(a) == model)
    }

    @Test func featureBitsAndVersionsFollowTheContent() throws {
        let int8 = try ModelWriter.encode(TestModels.tiny(dtype: .int8), options: .uncompressed)
        #expect(int8.u64(at: 16) == FormatFeature.int8.bit)
        let zstdF16 = try ModelWriter.encode(TestModels.tiny(dtype: .f16))
        #expect(zstdF16.u64(at: 16) == FormatFeature.zstd.bit | FormatFeature.f16.bit)
        let plain = try ModelWriter.encode(TestModels.tiny(), options: .uncompressed)
        #expect(plain.u64(at: 16) == 0)
        #expect(plain.u16(at: 8) == 1 && plain.u16(at: 10) == 0 && plain.u16(at: 12) == 1 && plain.u16(at: 14) == 0)
        #expect(plain.u64(at: 24) == UInt64(plain.count))
    }

    @Test func uncompressedTensorDataIsAlignedInTheFile() throws {
        let bytes = try ModelWriter.encode(TestModels.tiny(dtype: .int8), options: .uncompressed)
        let container = try Container.parse(bytes, limits: .default)
        for s in container.sections { #expect(s.offset % 64 == 0) }
        let table = try TensorEntry.parseTable(try container.payload(of: .tensorTable).array)
        for e in table {
            #expect(e.dataOffset % 64 == 0)
            #expect(e.scaleOffset % 64 == 0)
        }
    }

    @Test func modelWithoutHiddenBiasAndStackedLSTMsRoundTrip() throws {
        let noBHH = TestModels.tiny(withBHH: false)
        #expect(try ModelReader.decode(try ModelWriter.encode(noBHH)) == noBHH)
        let stacked = FixtureModels.classifier(seed: 3, height: 4, width: 3, pre: [5], lstm: [4, 3, 2], post: [6], labels: ["a", "b"])
        #expect(try ModelReader.decode(try ModelWriter.encode(stacked)) == stacked)
    }

    @Test func forwardCompatibleFilesLoadAndDropTheUnknownParts() throws {
        let items = FixtureCorpusAccess.good()
        for name in ["forward-compat.rnnm", "minor9.rnnm"] {
            let bytes = try #require(items[name])
            let model = try ModelReader.decode(bytes)
            #expect(model == TestModels.tiny(), "\(name)")
        }
    }

    @Test func theForwardCompatibleFixtureReallyHasUnknownParts() throws {
        let bytes = try #require(FixtureCorpusAccess.good()["forward-compat.rnnm"])
        let summary = try ModelReader.inspect(bytes)
        #expect(summary.formatMinor == 3 && summary.minReaderMinor == 0)
        #expect(summary.sections.contains { $0.kind == 1000 && !$0.required })
        let container = try Container.parse(bytes, limits: .default)
        let json = try JSONParser.parse(try container.payload(of: .metadata).array)
        #expect(json["future_top_level"] != nil)
        guard case .array(let layers)? = json["model"]?["layers"] else { Issue.record("no layers"); return }
        #expect(layers[0]["future_member"] == .string("ignored"))
    }

    @Test func provenanceValuesSurviveExactly() throws {
        let model = TestModels.withProvenance()
        let back = try ModelReader.decode(try ModelWriter.encode(model, options: .uncompressed))
        #expect(back.metadata.provenance.seed == UInt64.max)
        #expect(back.metadata.provenance == model.metadata.provenance)
        #expect(back.metadata.input.scale == Float(1.0 / 255))
    }

    @Test func inspectEscapesControlCharactersFromTheFile() throws {
        // Labels, layer names and provenance are any UTF-8: an ESC sequence must not reach the terminal raw.
        var model = TestModels.withProvenance()
        model.metadata.labels = ["\u{1B}[2Jcleared", "tab\there", "bidi\u{202E}txt.exe"]
        if case .dense(var d) = model.metadata.layers[1] {
            d.name = "out\u{1B}]0;title\u{07}"
            model.metadata.layers[1] = .dense(d)
        }
        model.metadata.provenance.producer = "evil\r\u{9B}31m"
        let text = try ModelReader.inspect(try ModelWriter.encode(model)).description
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E })
        #expect(text.contains("\\u001b[2Jcleared, tab\\there, bidi\\u202etxt.exe"))
        #expect(text.contains("out\\u001b]0;title\\u0007"))
        #expect(text.contains("producer evil\\r\\u009b31m"))
        #expect(TerminalText.escaped("C:\\dir é") == "C:\\\\dir é")
    }

    @Test func inspectPrintsTheSHA256ItIsGiven() throws {
        let bytes = try ModelWriter.encode(TestModels.tiny())
        #expect(try ModelReader.inspect(bytes).sha256 == nil)
        let summary = try ModelReader.inspect(bytes, sha256: { "digest of \($0.count) bytes" })
        #expect(summary.sha256 == "digest of \(bytes.count) bytes")
        #expect(summary.description.contains("\nsha256        digest of \(bytes.count) bytes\n"))
    }

    @Test func inspectDescribesSectionsLayersAndTensors() throws {
        let bytes = try ModelWriter.encode(TestModels.tiny(dtype: .int8))
        let summary = try ModelReader.inspect(bytes)
        #expect(summary.formatMajor == 1 && summary.formatMinor == 0)
        #expect(summary.features == ["zstd", "int8"])
        #expect(summary.sections.map(\.kindName) == ["metadata", "tensor table", "tensor data"])
        #expect(summary.sections.allSatisfy { $0.codec == "zstd" && $0.required })
        #expect(summary.layers.map(\.type) == ["lstm", "dense"])
        #expect(summary.layers[0].inputShape == "[T=5, 6]" && summary.layers[0].outputShape == "[4]")
        // lstm: 16x6 + 16x4 + 16 + 16 = 192; dense: 3x4 + 3 = 15
        #expect(summary.layers.map(\.parameterCount) == [192, 15])
        #expect(summary.parameterCount == 207)
        #expect(summary.tensors.first?.storedBytes == 16 * 6 + 16 * 4)
        #expect(summary.description.contains("lstm0.w_ih"))
        #expect(summary.description.contains("crc32 0x"))
    }
}

enum FixtureCorpusAccess {
    static func good() -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: FixtureCorpus.goodModels().map { ($0.file, $0.bytes) })
    }
}
