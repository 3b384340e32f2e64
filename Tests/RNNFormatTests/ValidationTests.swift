import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// The writer applies the reader's rules; errors name what is wrong.
@Suite struct ValidationTests {
    @Test func writerRefusesNonFiniteWeights() {
        var m = TestModels.tiny()
        m.tensors[1] = Tensor(name: m.tensors[1].name, shape: m.tensors[1].shape,
                              values: [Float](repeating: .nan, count: m.tensors[1].count))
        #expect(errorKind { _ = try ModelWriter.encode(m) } == .invalidTensor)
    }

    @Test func writerRefusesShapesThatDisagreeWithTheLayer() {
        var m = TestModels.tiny()
        m.tensors[0].shape = [6, 16]  // transposed w_ih
        #expect(errorKind { _ = try ModelWriter.encode(m) } == .shapeMismatch)
    }

    @Test func writerRefusesBadNamesAndCounts() {
        var long = TestModels.tiny()
        long.tensors[5].name = String(repeating: "n", count: 64)
        #expect(errorKind { _ = try ModelWriter.encode(long) } == .limitExceeded)
        var space = TestModels.tiny()
        space.tensors[5].name = "out bias"
        #expect(errorKind { _ = try ModelWriter.encode(space) } == .malformed)
        var count = TestModels.tiny()
        count.tensors[5].storage = .f32([1, 2])
        #expect(errorKind { _ = try ModelWriter.encode(count) } == .malformed)
        var labels = TestModels.tiny()
        labels.metadata.labels = ["a", "b"]
        #expect(errorKind { _ = try ModelWriter.encode(labels) } == .malformed)
    }

    @Test func writerRefusesAnUnrepresentableInputScale() {
        var m = TestModels.tiny()
        m.metadata.input.scale = .infinity
        #expect(errorKind { _ = try ModelWriter.encode(m) } == .malformed)
    }

    @Test func writerRefusesAnOutOfRangeZstdLevel() {
        #expect(errorKind { _ = try ModelWriter.encode(TestModels.tiny(), options: .init(metadataCodec: .zstd(level: 99))) } == .malformed)
    }

    @Test func layersStackOnlyAsSpecified() {
        // A dense layer between two LSTMs is allowed (applied per time step).
        let ok = FixtureModels.classifier(seed: 5, height: 3, width: 3, lstm: [2, 2], labels: ["a", "b"])
        #expect(errorKind { _ = try ModelWriter.encode(ok) } == nil)
        // Two LSTMs that both return "last" are not.
        var twoLast = ok
        if case .lstm(var l) = twoLast.metadata.layers[0] { l.returns = .last; twoLast.metadata.layers[0] = .lstm(l) }
        #expect(errorKind { _ = try ModelWriter.encode(twoLast) } == .malformed)
    }

    @Test func errorsDescribeThemselvesWithClassAndOffset() throws {
        var bytes = try ModelWriter.encode(TestModels.tiny())
        bytes[4] = 0
        do {
            _ = try ModelReader.decode(bytes)
            Issue.record("decoded a file with a broken magic")
        } catch {
            #expect(error.kind == .notAModel)
            #expect(error.description.hasPrefix("not_a_model: file offset 0: expected the magic"))
        }
    }

    @Test func everyErrorKindHasTheSpecName() {
        #expect(ModelFormatError.Kind.allCases.map(\.rawValue) == [
            "not_a_model", "truncated", "corrupted", "unsupported_version", "unsupported_feature",
            "limit_exceeded", "malformed", "shape_mismatch", "invalid_tensor", "io"])
    }
}

@Suite struct HostileMetadataTests {
    @Test func hugeObjectsDecodeInLinearTime() throws {
        var m = TestModels.tiny()
        m.metadata.provenance.metrics = (0..<20_000).reduce(into: [:]) { $0["metric\($1)"] = Double($1) }
        let bytes = try ModelWriter.encode(m, options: .uncompressed)
        let clock = ContinuousClock()
        var decoded: ModelFile?
        let elapsed = clock.measure { decoded = try? ModelReader.decode(bytes) }
        #expect(decoded == m)
        #expect(elapsed < .seconds(20))  // quadratic member lookup took minutes
    }

    @Test func metadataOverFourMiBIsRefusedByTheWriter() {
        var m = TestModels.tiny()
        m.metadata.provenance.hyperparameters = ["blob": .string(String(repeating: "x", count: 4 << 20))]
        #expect(errorKind { _ = try ModelWriter.encode(m) } == .limitExceeded)
    }
}
