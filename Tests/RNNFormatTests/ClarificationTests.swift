import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// The points an independent reader had to guess (issue #13), now stated in spec/FORMAT.md
/// ("Clarifications in 1.1"): each pinned here where no corrupt fixture pins it.
@Suite struct ClarificationTests {
    static let micro = FixtureModels.micro()

    /// The micro model with its metadata JSON edited.
    static func withJSON(_ model: ModelFile = micro, minor: UInt16 = 0, _ edit: (inout JSONValue) -> Void) -> [UInt8] {
        var json = try! MetadataEncoding.json(model.metadata)
        edit(&json)
        var raw = RawFile(model, options: .init(), metadata: CanonicalJSON.encode(json))
        raw.formatMinor = minor
        raw.minReaderMinor = minor
        return raw.bytes()
    }

    @Test func formatMinorBelowMinReaderMinorIsRead() throws {
        // format_minor is informational; only min_reader_* decide who may read (spec §3).
        var raw = RawFile(Self.micro)
        raw.formatMinor = 0
        raw.minReaderMinor = 1
        #expect(try ModelReader.decode(raw.bytes()) == Self.micro)
        #expect(throws: ModelFormatError(.unsupportedVersion, "file offset 14: this file needs a reader >= 1.1; this reader is 1.0 (upgrade the reader)")) {
            try ModelReader.decode(raw.bytes(), readerMinor: 0)
        }
    }

    @Test func scaleAndOffsetMayHaveAnySign() throws {
        for (scale, offset) in [(-1 / 255.0, 1.0), (0, -3.5), (1e-30, -0.0)] as [(Float, Float)] {
            var m = Self.micro
            m.metadata.input.scale = scale
            m.metadata.input.offset = offset
            let back = try ModelReader.decode(try ModelWriter.encode(m))
            #expect(back.metadata.input.scale == scale && back.metadata.input.offset == offset)
        }
    }

    @Test func tokensInputIgnoresTheImageMembers() throws {
        // height, width, source_dtype, scale and offset are not members of a tokens input: unknown,
        // so ignored whatever their type (but numbers anywhere must still be finite, §6).
        let text = FixtureModels.tinyText()
        let bytes = Self.withJSON(text, minor: 1) { j in
            j.set([.key("input"), .key("height"), ], .string("not a number"))
            j.set([.key("input"), .key("scale")], .null)
            j.set([.key("input"), .key("source_dtype")], .string("f64"))
        }
        #expect(try ModelReader.decode(bytes) == text)
        let overflow = Self.withJSON(text, minor: 1) { $0.set([.key("input"), .key("offset")], .number("1e400")) }
        #expect(errorKind { _ = try ModelReader.decode(overflow) } == .malformed)
    }

    @Test func namesCompareByCodePointsNotCanonicalEquivalence() throws {
        // U+212A KELVIN SIGN is canonically equivalent to "K" (Swift's String ==) but a different
        // member name, layer name and vocabulary word for the spec and the Python reader.
        let keys = Self.withJSON { j in
            j.set([.key("future")], .object([("K", .number("1")), ("\u{212A}", .number("2"))]))
        }
        #expect(throws: Never.self) { try ModelReader.decode(keys) }
        var m = Self.micro
        if case .dense(var d) = m.metadata.layers[1] { d.name = "\u{212A}"; m.metadata.layers[1] = .dense(d) }
        if case .lstm(var l) = m.metadata.layers[0] { l.name = "K"; m.metadata.layers[0] = .lstm(l) }
        #expect(try ModelReader.decode(try ModelWriter.encode(m)) == m)
        var text = FixtureModels.tinyText()
        let words = ["caf\u{E9}", "cafe\u{301}"]  // precomposed and decomposed: two different words
        text.metadata.input.tokens!.vocabulary = Array(text.metadata.input.tokens!.vocabulary.dropLast(2)) + words
        #expect(try ModelReader.decode(try ModelWriter.encode(text)).metadata.input.tokens?.vocabulary.suffix(2) == words[...])
        // A tensor reference matches a tensor name byte for byte: "out.\u{212A}" does not name "out.K".
        var renamed = Self.micro
        renamed.tensors[5].name = "out.K"
        let reference = Self.withJSON(renamed) { $0.set([.key("model"), .key("layers"), .index(1), .key("bias")], .string("out.\u{212A}")) }
        let error = #expect(throws: ModelFormatError.self) { try ModelReader.decode(reference) }
        #expect(error?.kind == .malformed && error?.message.contains("not in the tensor table") == true, "\(String(describing: error))")
    }

    @Test func jsonErrorsAreReportedInTextOrder() {
        // Duplicate names and non-finite numbers are found while parsing, before any member is
        // checked; the first in the text is reported (both are malformed).
        func withMembers(_ extra: [(String, JSONValue)]) -> [UInt8] {
            // The canonical encoder sorts members by key, so the keys fix the order in the text.
            Self.withJSON { j in if case .object(let m) = j { j = .object(extra + m) } }
        }
        let duplicateFirst = withMembers([("a", .null), ("a", .null), ("b", .number("1e400"))])
        let overflowFirst = withMembers([("0", .number("1e400")), ("a", .null), ("a", .null)])
        let e1 = #expect(throws: ModelFormatError.self) { try ModelReader.decode(duplicateFirst) }
        #expect(e1?.kind == .malformed && e1?.message.contains("duplicate member \"a\"") == true, "\(String(describing: e1))")
        let e2 = #expect(throws: ModelFormatError.self) { try ModelReader.decode(overflowFirst) }
        #expect(e2?.kind == .malformed && e2?.message.contains("overflows binary64") == true, "\(String(describing: e2))")
    }

    @Test func zeroBytesBeforeTheFirstRegionAreValidPadding() throws {
        var raw = RawFile(Self.micro)
        let entry = { (j: Int) in Format.tensorTableHeaderSize + Format.tensorEntrySize * j }
        for j in 0..<Self.micro.tensors.count {
            Patch.u64(&raw.sections[1].content, entry(j) + 88, raw.sections[1].content.u64(at: entry(j) + 88) + 128)
        }
        raw.sections[2].content = [UInt8](repeating: 0, count: 128) + raw.sections[2].content
        #expect(try ModelReader.decode(raw.bytes()) == Self.micro)
    }

    @Test func sizeLimitsAreInclusive() throws {
        // A tensor data section of exactly 2 GiB passes step 7: the bomb fails later, as malformed.
        #expect(errorKind { _ = try ModelReader.decode(HostileFileTests.bomb(zeros: Format.maxTensorDataBytes)) } == .malformed)
        #expect(errorKind { _ = try ModelReader.decode(HostileFileTests.bomb(zeros: Format.maxTensorDataBytes + 1)) } == .limitExceeded)
    }

    @Test func biasesMayBeQuantized() throws {
        // §4.3 is the converter's choice; a file may store any tensor, biases included, in any dtype.
        let m = FixtureModels.micro(dtype: .int8)
        let back = try ModelReader.decode(try ModelWriter.encode(m))
        let bias = try #require(back.tensors.first { $0.name == "out.bias" })
        guard case .int8(let q, let scales) = bias.storage else { Issue.record("out.bias is \(bias.dtype)"); return }
        #expect(scales.count == q.count)  // rank 1: one scale per element
    }
}
