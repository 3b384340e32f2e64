import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Format 1.4's image models and `conv1d` (spec §6.1, §6.2.3) and their version rules (spec §3): such a
/// file is written as 1.4, refused by a 1.3 reader with "needs a reader >= 1.4", and read back equal.
struct V14FormatTests {
    static let models: [(String, ModelFile)] = [
        ("micro image", FixtureModels.microImage()),
        ("rgb int8", FixtureModels.image(seed: 50, channels: 3, height: 9, width: 7, layers: [
            .conv(5, kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 1), activation: .tanh),
            .pool(kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 0)),
        ], dense: [4], labels: ["x", "y"], dtype: .int8)),
        ("conv1d + gru", FixtureModels.conv1dGRU()),
    ]

    @Test(arguments: models.map(\.0))
    func aVersion1Point3ReaderRefusesA1Point4FileNamingTheVersionItNeeds(name: String) throws {
        let model = try #require(Self.models.first { $0.0 == name }).1
        for options in [WriteOptions(), WriteOptions.uncompressed] {
            let bytes = try ModelWriter.encode(model, options: options)
            #expect(bytes.u16(at: 10) == 4 && bytes.u16(at: 14) == 4, "\(name): format_minor and min_reader_minor are 4")
            #expect(throws: ModelFormatError.self) { try ModelReader.decode(bytes, readerMinor: 3) }
            do {
                _ = try ModelReader.decode(bytes, readerMinor: 3)
            } catch {
                #expect(error.kind == .unsupportedVersion && error.message.contains("needs a reader >= 1.4"), "\(name): \(error.message)")
            }
            let read = try ModelReader.decode(bytes)
            #expect(read == model, "\(name)")
            #expect(try ModelWriter.encode(read, options: options) == bytes, "\(name): rewritten byte for byte")
        }
    }

    /// The canonical JSON of the new members: integer arrays, padding in `[top, left, bottom, right]` order.
    @Test func theNewLayersAndInputAreWrittenCanonically() throws {
        let json = String(decoding: try MetadataEncoding.bytes(Self.models[1].1.metadata), as: UTF8.self)
        #expect(json.contains(#"{"activation":"tanh","bias":"conv0.bias","in_channels":3,"kernel":[3,2],"name":"conv0","out_channels":5,"padding":[1,0,1,1],"stride":[2,1],"type":"conv2d","weight":"conv0.weight"}"#), "\(json)")
        #expect(json.contains(#"{"kernel":[3,2],"name":"pool1","padding":[1,0,1,0],"stride":[2,1],"type":"maxpool2d"}"#), "\(json)")
        #expect(json.contains(#"{"name":"flatten","type":"flatten"}"#), "\(json)")
        #expect(json.contains(#""input":{"channels":3,"height":9,"kind":"image","offset":0,"scale":0.003921568859368563,"source_dtype":"u8","width":7}"#), "\(json)")
        let crnn = String(decoding: try MetadataEncoding.bytes(FixtureModels.conv1dGRU().metadata), as: UTF8.self)
        #expect(crnn.contains(#""kernel":[3],"name":"conv","out_channels":3,"padding":[2,0],"stride":[2],"type":"conv1d""#), "\(crnn)")
    }

    @Test func windowsGiveTheSpecsOutputSizes() {
        let w = Window2D(kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 1))
        #expect(w.outputSize(height: 9, width: 7)! == (5, 7))     // floor((9 + 2 - 3) / 2) + 1, 7 + 1 - 2 + 1
        #expect(Window2D(kernel: (7, 3), stride: (1, 1)).outputSize(height: 6, width: 5) == nil)
        let t = Window1D(kernel: 3, stride: 2, padBefore: 2, padAfter: 0)
        #expect([1, 2, 3, 9].map(t.outputLength) == [1, 1, 2, 5])
        #expect(Window1D(kernel: 5, stride: 1, padBefore: 1, padAfter: 1).outputLength(2) == 0)
    }

    @Test func inspectDescribesTheFeatureMaps() throws {
        let summary = try ModelReader.inspect(try ModelWriter.encode(FixtureModels.microImage()))
        let text = summary.description
        #expect(text.contains("input         image: 1 x 6 x 5 u8 (channels first)"), "\(text)")
        #expect(text.contains("conv2d 3x3+relu") && text.contains("[1, 6, 5]  [2, 6, 5]"), "\(text)")
        #expect(text.contains("class logits, per image: 3"), "\(text)")
        #expect(text.contains("flatten"), "\(text)")
        #expect(summary.layers.first { $0.type == "flatten" }?.outputShape == "[12]")
    }

    @Test func everyGood1Point4FixtureNeedsReader1Point4() throws {
        for item in FixtureCorpus.v14Models() {
            #expect(item.bytes.u16(at: 14) == 4, "\(item.file)")
            _ = try ModelReader.decode(item.bytes)
        }
    }
}
