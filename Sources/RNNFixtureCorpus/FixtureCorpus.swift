import RNNFormat

/// The fixture corpus of `fixtures/`: small valid models and one file per failure class of the
/// spec, each with the error class it must produce. `rnn-fixtures` writes it; a test regenerates
/// it in memory and compares it with the committed files byte for byte.
package enum FixtureCorpus {
    /// One file of the corpus.
    package struct Item: Sendable {
        /// File name inside `fixtures/models/` or `fixtures/corrupt/`.
        package var file: String
        /// The error class the reader must report (spec §8), or nil for a good model.
        package var error: String?
        /// Why the file is good or bad, in one sentence.
        package var why: String
        /// The file's bytes.
        package var bytes: [UInt8]
    }

    /// The good models of `fixtures/models/`.
    package static func goodModels() -> [Item] {
        var items: [Item] = []
        func add(_ file: String, _ why: String, _ bytes: [UInt8]) { items.append(Item(file: file, error: nil, why: why, bytes: bytes)) }
        func encode(_ m: ModelFile, _ o: WriteOptions = .init()) -> [UInt8] { try! ModelWriter.encode(m, options: o) }

        add("tiny-h4.rnnm", "5x6 image rows -> lstm(4) -> dense(3); f32, zstd", encode(FixtureModels.tiny()))
        add("small-h16.rnnm", "8x8 image rows -> dense(8->12, tanh) per step -> lstm(16) -> dense(16->10, relu) -> dense(10); f32, zstd",
            encode(FixtureModels.classifier(seed: 16, height: 8, width: 8, pre: [12], lstm: [16], post: [10],
                                            labels: (0..<10).map(String.init))))
        add("tiny-f16.rnnm", "tiny-h4 architecture with f16 weights (feature bit 1)", encode(FixtureModels.tiny(dtype: .f16)))
        add("tiny-bf16.rnnm", "tiny-h4 architecture with bf16 weights (feature bit 2)", encode(FixtureModels.tiny(dtype: .bf16)))
        add("tiny-int8.rnnm", "tiny-h4 architecture with per-row int8 weights (feature bit 3)", encode(FixtureModels.tiny(dtype: .int8)))
        add("tiny-uncompressed.rnnm", "tiny-h4 with codec none everywhere: memory-mappable, the hex dump of spec §10",
            encode(FixtureModels.tiny(), .uncompressed))
        add("tiny-no-bhh.rnnm", "tiny-h4 without b_hh (a single LSTM bias, as Keras exports)", encode(FixtureModels.tiny(bHH: false)))
        add("stacked-2lstm.rnnm", "6x5 image rows -> lstm(5, sequence) -> lstm(4, last) -> dense(3)",
            encode(FixtureModels.classifier(seed: 22, height: 6, width: 5, lstm: [5, 4], labels: ["x", "y", "z"])))

        // Forward compatibility: an unknown optional section and unknown JSON members must be skipped.
        let tiny = FixtureModels.tiny()
        var json = try! MetadataEncoding.json(tiny.metadata)
        json.set([.key("future_top_level")], .object([("anything", .array([.null, .bool(true)]))]))
        json.set([.key("model"), .key("layers"), .index(0), .key("future_member")], .string("ignored"))
        var raw = RawFile(tiny, options: .init(), metadata: CanonicalJSON.encode(json))
        raw.formatMinor = 3
        raw.sections.insert(RawFile.Section(kind: 1000, codec: .none, flags: 0, content: Array("optional data a 1.0 reader skips".utf8)), at: 2)
        add("forward-compat.rnnm", "format 1.3 file with an unknown optional section (kind 1000, flags 0) and unknown JSON members; a 1.0 reader must load it",
            raw.bytes())

        var minor9 = RawFile(tiny, options: .init())
        minor9.formatMinor = 9
        add("minor9.rnnm", "written by a hypothetical 1.9 writer that uses nothing new (min_reader_minor 0); must load", minor9.bytes())
        return items + textModels() + v12Models() + v13Models() + v14Models()
    }

    /// The bad files of `fixtures/corrupt/`, each breaking one rule.
    package static func corruptFiles() -> [Item] {
        var items: [Item] = []
        func bad(_ file: String, _ error: ModelFormatError.Kind, _ why: String, _ bytes: [UInt8]) {
            items.append(Item(file: file + ".rnnm", error: error.rawValue, why: why, bytes: bytes))
        }
        let micro = FixtureModels.micro()
        let zstdBase = RawFile(micro).withOptions(.init())
        let zbytes = zstdBase.bytes()
        let plain = RawFile(micro, options: .uncompressed).bytes()

        /// `zbytes` patched, with the CRC recomputed unless `crc` is false.
        func patched(_ base: [UInt8] = zbytes, crc: Bool = true, _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = base
            edit(&b)
            if crc { Patch.fixCRC(&b) }
            return b
        }
        /// A file made from the zstd base after editing its parts.
        func raw(_ edit: (inout RawFile) -> Void) -> [UInt8] {
            var r = zstdBase
            edit(&r)
            return r.bytes()
        }
        /// A file whose metadata JSON is edited (canonical encoding of the result).
        func meta(_ edit: (inout JSONValue) -> Void) -> [UInt8] {
            var json = try! MetadataEncoding.json(micro.metadata)
            edit(&json)
            return raw { $0.sections[0].content = CanonicalJSON.encode(json) }
        }
        /// A file whose metadata is exactly `text`.
        func metaText(_ text: [UInt8]) -> [UInt8] { raw { $0.sections[0].content = text } }
        /// A file encoded, unchecked, from an edited model.
        func model(_ edit: (inout ModelFile) -> Void) -> [UInt8] {
            var m = micro
            edit(&m)
            return RawFile(m).withOptions(.init()).bytes()
        }
        /// A file whose tensor table entry `entry` is patched (offsets relative to the entry).
        func table(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            raw { edit(&$0.sections[1].content) }
        }
        let entry = { (j: Int) in Format.tensorTableHeaderSize + Format.tensorEntrySize * j }
        let trailer = zbytes.count - Format.trailerSize

        // §7 steps 1 - 2: magic and length.
        bad("empty", .truncated, "a 0-byte file: a (trivial) prefix of the magic", [])
        bad("magic-prefix-5", .truncated, "the first 5 bytes of a model file", Array(zbytes.prefix(5)))
        bad("short-not-magic", .notAModel, "7 bytes that are not a prefix of the magic (its first 6 bytes, then 00)",
            Array(zbytes.prefix(6)) + [0])
        bad("text-file", .notAModel, "a text file, not a model", Array("{\"format\": \"rnnm\"} is JSON, not an .rnnm file\n".utf8))
        bad("bad-magic", .notAModel, "magic byte 1 changed from 'R' to 'r'", patched(crc: false) { $0[1] = 0x72 })
        bad("crlf-mangled", .notAModel, "a text-mode transfer turned the magic's CR LF into LF",
            Array(zbytes[0..<5]) + [0x0A] + Array(zbytes[7...]))
        bad("header-40-bytes", .truncated, "the first 40 bytes: the header is cut short", Array(zbytes.prefix(40)))
        // Step 3.
        bad("future-major-2", .unsupportedVersion, "format_major 2 (a future incompatible version)", patched { Patch.u16(&$0, 8, 2); Patch.u16(&$0, 12, 2) })
        bad("old-major-0", .unsupportedVersion, "format_major 0", patched { Patch.u16(&$0, 8, 0); Patch.u16(&$0, 12, 0) })
        // Step 4: truncation at every boundary, trailing bytes, impossible size.
        var cuts: [(String, Int)] = [("header-end", 64), ("directory-middle", 96), ("directory-end", 64 + 64 * 3)]
        for s in 0..<3 {
            let name = ["metadata", "table", "data"][s]
            cuts.append(("\(name)-start", Patch.payloadOffset(zbytes, section: s)))
            cuts.append(("\(name)-middle", Patch.payloadOffset(zbytes, section: s) + Patch.payloadSize(zbytes, section: s) / 2))
            cuts.append(("\(name)-end", Patch.payloadOffset(zbytes, section: s) + Patch.payloadSize(zbytes, section: s)))
        }
        cuts += [("trailer-start", trailer), ("last-byte", zbytes.count - 1)]
        var seenCuts = Set<Int>()
        for (name, cut) in cuts where seenCuts.insert(cut).inserted {
            bad("truncated-at-\(name)", .truncated, "the file cut at byte \(cut) of \(zbytes.count)", Array(zbytes.prefix(cut)))
        }
        bad("trailing-bytes", .malformed, "16 zero bytes appended after the trailer (file_size is shorter than the file)", zbytes + [UInt8](repeating: 0, count: 16))
        var tooSmall = Array(zbytes.prefix(64)) + [UInt8](repeating: 0, count: 36)
        Patch.u64(&tooSmall, 24, 100)
        bad("file-size-100", .malformed, "a 100-byte file whose file_size says 100: smaller than header + one entry + trailer", tooSmall)
        // Step 5: checksum.
        bad("flipped-header", .corrupted, "one bit of section_count flipped, CRC not updated", patched(crc: false) { $0[32] ^= 0x04 })
        bad("flipped-metadata", .corrupted, "one byte of the metadata payload changed", patched(crc: false) { $0[Patch.payloadOffset($0, section: 0) + 9] ^= 0xFF })
        bad("flipped-table", .corrupted, "one byte of the tensor table payload changed", patched(crc: false) { $0[Patch.payloadOffset($0, section: 1) + 9] ^= 0x01 })
        bad("flipped-data", .corrupted, "one byte of the tensor data payload changed", patched(crc: false) { $0[Patch.payloadOffset($0, section: 2) + 9] ^= 0x80 })
        bad("flipped-crc", .corrupted, "one bit of the stored CRC-32 flipped", patched(crc: false) { $0[trailer] ^= 0x01 })
        bad("damaged-end-magic", .corrupted, "the end magic reads RNNMEND\\r instead of RNNMEND\\n", patched(crc: false) { $0[$0.count - 1] = 0x0D })
        // Step 6: versions and features.
        // One minor above this reader (1.4), so the file stays unreadable as the reader's version moves.
        bad("needs-reader-1.5", .unsupportedVersion, "min_reader_minor 5: needs a newer reader", patched { Patch.u16(&$0, 10, 5); Patch.u16(&$0, 14, 5) })
        bad("min-reader-major-2", .unsupportedVersion, "min_reader_major 2 differs from format_major 1", patched { Patch.u16(&$0, 12, 2) })
        bad("unknown-feature-bit-7", .unsupportedFeature, "required_features has bit 7, which 1.0 does not define", patched { $0[16] |= 0x80 })
        bad("unknown-feature-bit-63", .unsupportedFeature, "required_features has bit 63", patched { $0[23] |= 0x80 })
        // Step 7: reserved bytes, section count, directory.
        bad("header-reserved-nonzero", .malformed, "reserved header byte 40 is 1", patched { $0[40] = 1 })
        bad("trailer-reserved-nonzero", .malformed, "reserved trailer byte (file_size - 12) is 1", patched { $0[trailer + 4] = 1 })
        bad("section-count-0", .malformed, "section_count 0", patched { Patch.u32(&$0, 32, 0) })
        bad("section-count-17", .limitExceeded, "section_count 17 (limit 16)", patched { Patch.u32(&$0, 32, 17) })
        bad("directory-reserved-nonzero", .malformed, "reserved byte 40 of directory entry 1 is 1", patched { $0[Patch.entry(1) + 40] = 1 })
        bad("directory-flags-bit1", .malformed, "directory entry 0 has flag bit 1 set (undefined)", patched { $0[Patch.entry(0) + 6] |= 2 })
        bad("unknown-required-section", .unsupportedFeature, "a section of unknown kind 77 with the required flag",
            raw { $0.sections.append(.init(kind: 77, codec: .none, flags: 1, content: [1, 2, 3])) })
        bad("unknown-codec-7", .unsupportedFeature, "directory entry 0 declares codec 7", patched { Patch.u16(&$0, Patch.entry(0) + 4, 7) })
        bad("known-section-not-required", .malformed, "the metadata section lacks the required flag", patched { $0[Patch.entry(0) + 6] = 0 })
        bad("duplicate-metadata-section", .malformed, "two metadata sections", raw { $0.sections.append($0.sections[0]) })
        bad("missing-tensor-data-section", .malformed, "no tensor data section (kind 3)", raw { $0.sections.removeLast() })
        bad("stored-size-differs-codec-none", .malformed, "codec 0 but size = stored_size + 1",
            patched(plain) { Patch.u64(&$0, Patch.entry(0) + 24, $0.u64(at: Patch.entry(0) + 16) + 1) })
        bad("size-fields-overflow-64bit", .malformed, "stored_size of the metadata entry is 2^64 - 64: offset + stored_size overflows 64 bits",
            patched { Patch.u64(&$0, Patch.entry(0) + 16, UInt64.max - 63) })
        bad("offset-outside-file", .malformed, "the tensor data entry's offset is 2^40, far past the end of the file",
            patched { Patch.u64(&$0, Patch.entry(2) + 8, 1 << 40) })
        bad("offsets-overlap", .malformed, "the tensor table entry's offset equals the metadata's: the payloads would overlap",
            patched { Patch.u64(&$0, Patch.entry(1) + 8, $0.u64(at: Patch.entry(0) + 8)) })
        bad("payload-past-trailer", .malformed, "the tensor data's stored_size and size reach 64 bytes past the trailer",
            patched(plain) { let s = $0.u64(at: Patch.entry(2) + 16) + 64; Patch.u64(&$0, Patch.entry(2) + 16, s); Patch.u64(&$0, Patch.entry(2) + 24, s) })
        bad("slack-before-trailer", .malformed, "64 extra zero bytes between the last payload and the trailer",
            patched { b in b.insert(contentsOf: [UInt8](repeating: 0, count: 64), at: b.count - 16); Patch.u64(&b, 24, UInt64(b.count)) })
        bad("padding-nonzero", .malformed, "a padding byte between two payloads is 0x01", patched(plain) { b in
            for s in 0..<2 {
                let end = Patch.payloadOffset(b, section: s) + Patch.payloadSize(b, section: s)
                if end < Patch.payloadOffset(b, section: s + 1) { b[end] = 1; return }
            }
        })
        // Step 7: sizes against limits; zstd frames that do not deliver the declared size.
        bad("metadata-size-over-limit", .limitExceeded, "the metadata's declared size is 4 MiB + 1 (limit 4 MiB)",
            patched { Patch.u64(&$0, Patch.entry(0) + 24, (4 << 20) + 1) })
        bad("tensor-table-size-over-limit", .limitExceeded, "the tensor table's declared size is 8 + 128 x 1024 + 1 (limit 8 + 128 x 1024)",
            patched { Patch.u64(&$0, Patch.entry(1) + 24, UInt64(Format.maxTensorTableBytes + 1)) })
        bad("tensor-table-size-at-limit", .malformed, "the tensor table's declared size is exactly 8 + 128 x 1024: the limit is inclusive, "
            + "so step 7 passes and the zstd frame's own (smaller) content size disagrees",
            patched { Patch.u64(&$0, Patch.entry(1) + 24, UInt64(Format.maxTensorTableBytes)) })
        bad("tensor-data-size-over-limit", .limitExceeded, "the tensor data's declared size is 3 GiB (limit 2 GiB): refused before allocating",
            patched { Patch.u64(&$0, Patch.entry(2) + 24, 3 << 30) })
        bad("zstd-bomb-declared-small", .malformed, "directory size 10 but the zstd frame declares and produces more",
            patched { Patch.u64(&$0, Patch.entry(0) + 24, 10) })
        bad("zstd-bomb-declared-large", .malformed, "directory size 1,000,000 (within limits) but the zstd frame produces far less",
            patched { Patch.u64(&$0, Patch.entry(0) + 24, 1_000_000) })
        let metaSize = zstdBase.sections[0].content.count
        for (name, delta) in [("frame-declares-less", -100), ("frame-declares-more", 100)] {
            let lie = metaSize + delta
            bad("zstd-\(name)", .malformed, "the zstd frame header and the directory both claim \(lie) bytes; the frame really produces \(metaSize)",
                raw { r in
                    var frame = try! Zstd.compress(r.sections[0].content, level: 19)
                    Self.setFrameContentSize(&frame, lie)
                    r.sections[0].storedOverride = frame
                    r.sections[0].sizeOverride = lie
                })
        }
        bad("zstd-not-a-frame", .malformed, "codec 1 but the payload is the raw JSON text",
            raw { $0.sections[0].storedOverride = $0.sections[0].content })
        bad("zstd-trailing-garbage", .malformed, "a valid zstd frame followed by 4 extra bytes inside stored_size",
            raw { $0.sections[0].storedOverride = try! Zstd.compress($0.sections[0].content, level: 19) + [1, 2, 3, 4] })
        bad("zstd-skippable-frame", .malformed, "codec 1 payload is a zstd skippable frame, not a data frame",
            raw { $0.sections[0].storedOverride = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]; $0.sections[0].sizeOverride = 0 })

        // Step 8: metadata.
        bad("metadata-not-json", .malformed, "the metadata is plain text", metaText(Array("model: lstm\n".utf8)))
        bad("json-nested-1000", .limitExceeded, "an unknown member nests arrays 1000 deep (limit 32)",
            metaText(Array("{\"deep\":".utf8) + [UInt8](repeating: 0x5B, count: 1000) + [UInt8](repeating: 0x5D, count: 1000) + [0x7D]))
        bad("json-trailing-comma", .malformed, "a trailing comma after the last member",
            metaText(Array(CanonicalJSON.encode(try! MetadataEncoding.json(micro.metadata)).dropLast()) + Array(",}".utf8)))
        bad("json-duplicate-key", .malformed, "the member \"labels\" appears twice", meta { j in
            if case .object(var m) = j { m.append(("labels", .array([.string("p"), .string("q")]))); j = .object(m) }
        })
        bad("json-duplicate-key-escaped", .malformed, "the members \"\\u006cabels\" and \"labels\": equal after unescaping",
            metaText(Array("{\"\\u006cabels\":[\"p\",\"q\"],".utf8) + CanonicalJSON.encode(try! MetadataEncoding.json(micro.metadata)).dropFirst()))
        bad("bias-null", .malformed, "the dense layer's \"bias\" is null: a member of the wrong type, not a missing one",
            meta { $0.set([.key("model"), .key("layers"), .index(1), .key("bias")], .null) })
        bad("layer-name-64-bytes", .malformed, "a 64-byte layer name (1 ... 63 bytes; a JSON value out of range, unlike a tensor name's full field)",
            meta { $0.set([.key("model"), .key("layers"), .index(1), .key("name")], .string(String(repeating: "n", count: 64))) })
        bad("json-bom", .malformed, "the JSON text starts with a UTF-8 byte-order mark",
            metaText([0xEF, 0xBB, 0xBF] + CanonicalJSON.encode(try! MetadataEncoding.json(micro.metadata))))
        bad("json-invalid-utf8", .malformed, "a label contains the byte 0xFF (not UTF-8)", metaText({
            var t = CanonicalJSON.encode(try! MetadataEncoding.json(micro.metadata))
            let i = t.firstIndex(of: UInt8(ascii: "y"))!  // the label "yes"
            t[i] = 0xFF
            return t
        }()))
        bad("json-top-level-array", .malformed, "the JSON text is an array", metaText(Array("[1,2]".utf8)))
        bad("format-not-rnnm", .malformed, "\"format\" is \"onnx\"", meta { $0.set([.key("format")], .string("onnx")) })
        bad("unknown-layer-type", .unsupportedFeature, "layer 0 has type \"transformer\"", meta { $0.set([.key("model"), .key("layers"), .index(0), .key("type")], .string("transformer")) })
        bad("unknown-input-kind", .unsupportedFeature, "input kind \"audio_frames\"", meta { $0.set([.key("input"), .key("kind")], .string("audio_frames")) })
        bad("unknown-activation", .unsupportedFeature, "the dense layer's activation is \"gelu\"", meta { $0.set([.key("model"), .key("layers"), .index(1), .key("activation")], .string("gelu")) })
        bad("unknown-gate-order", .unsupportedFeature, "gate_order \"iofc\" (ONNX's order, not defined in 1.0)", meta { $0.set([.key("model"), .key("layers"), .index(0), .key("gate_order")], .string("iofc")) })
        bad("missing-input", .malformed, "the required member \"input\" is missing", meta { $0.set([.key("input")], nil) })
        bad("hidden-size-is-string", .malformed, "hidden_size is the string \"2\"", meta { $0.set([.key("model"), .key("layers"), .index(0), .key("hidden_size")], .string("2")) })
        bad("hidden-size-2.0", .malformed, "hidden_size is written 2.0: integers have no fraction", meta { $0.set([.key("model"), .key("layers"), .index(0), .key("hidden_size")], .number("2.0")) })
        bad("height-5000", .malformed, "input height 5000 (range 1 ... 4096)", meta { $0.set([.key("input"), .key("height")], .number("5000")) })
        bad("one-label", .malformed, "a single label: a classifier needs at least 2", meta { $0.set([.key("labels")], .array([.string("only")])) })
        bad("label-257-bytes", .limitExceeded, "a label of 257 bytes (limit 256)", meta { $0.set([.key("labels"), .index(1)], .string(String(repeating: "x", count: 257))) })
        bad("layers-65", .limitExceeded, "65 layers (limit 64)", meta { j in
            guard case .array(let layers)? = j["model"]?["layers"] else { return }
            j.set([.key("model"), .key("layers")], .array(Array(repeating: layers[1], count: 65)))
        })
        bad("seed-negative", .malformed, "provenance.seed is -1", meta { $0.set([.key("provenance"), .key("seed")], .number("-1")) })
        bad("seed-minus-zero", .malformed, "provenance.seed is written -0: integers are digits only", meta { $0.set([.key("provenance"), .key("seed")], .number("-0")) })
        bad("number-overflow-in-unknown-member", .malformed, "an unknown member holds 1e400, which overflows binary64",
            meta { $0.set([.key("future")], .number("1e400")) })
        bad("metric-is-string", .malformed, "a provenance metric is a string", meta { $0.set([.key("provenance"), .key("metrics"), .key("untrained")], .string("yes")) })

        // Step 8: tensor table.
        bad("tensor-count-0", .malformed, "tensor_count 0", table { Patch.u32(&$0, 0, 0) })
        bad("tensor-count-1025", .limitExceeded, "tensor_count 1025 (limit 1024)", table { Patch.u32(&$0, 0, 1025) })
        bad("table-reserved-nonzero", .malformed, "reserved byte 120 of tensor entry 2 is 1", table { $0[entry(2) + 120] = 1 })
        bad("tensor-name-64-bytes", .limitExceeded, "a 64-byte tensor name with no terminating zero (limit 63)", table { for i in 0..<64 { $0[entry(0) + i] = UInt8(ascii: "w") } })
        bad("tensor-name-bad-character", .malformed, "a tensor name containing a space", table { $0[entry(0) + 1] = UInt8(ascii: " ") })
        bad("tensor-name-empty", .malformed, "an empty tensor name", table { for i in 0..<64 { $0[entry(0) + i] = 0 } })
        bad("unknown-dtype-9", .unsupportedFeature, "a tensor with dtype 9", table { $0[entry(0) + 64] = 9 })
        bad("rank-5", .limitExceeded, "a tensor of rank 5 (limit 4)", table { $0[entry(0) + 65] = 5 })
        bad("rank-0", .malformed, "a tensor of rank 0", table { $0[entry(0) + 65] = 0 })
        bad("dimension-0", .malformed, "a tensor with dims[0] = 0", table { Patch.u32(&$0, entry(0) + 68, 0) })
        bad("dimension-over-limit", .limitExceeded, "a tensor with dims[0] = 2^24 + 1 (limit 2^24)", table { Patch.u32(&$0, entry(0) + 68, (1 << 24) + 1) })
        bad("elements-over-limit", .limitExceeded, "a tensor of shape [2^24, 2^24]: more than 2^31 - 1 elements",
            table { Patch.u32(&$0, entry(0) + 68, 1 << 24); Patch.u32(&$0, entry(0) + 72, 1 << 24) })
        bad("unused-dimension-nonzero", .malformed, "a rank-2 tensor with dims[2] = 1", table { Patch.u32(&$0, entry(0) + 76, 1) })
        bad("data-offset-unaligned", .malformed, "a data_offset that is not a multiple of 64", table { Patch.u64(&$0, entry(1) + 88, $0.u64(at: entry(1) + 88) + 4) })
        bad("data-size-wrong", .malformed, "data_size one element short of the shape", table { Patch.u64(&$0, entry(0) + 96, $0.u64(at: entry(0) + 96) - 4) })
        bad("scale-fields-on-f32", .malformed, "an f32 tensor with a nonzero scale_size", table { Patch.u64(&$0, entry(0) + 112, 32) })
        bad("duplicate-tensor-names", .malformed, "two tensors named lstm0.w_ih", table { for i in 0..<64 { $0[entry(1) + i] = $0[entry(0) + i] } })
        // Step 8: tensor data regions.
        bad("regions-overlap", .malformed, "tensor 1's values start at tensor 0's data offset", table { Patch.u64(&$0, entry(1) + 88, $0.u64(at: entry(0) + 88)) })
        bad("region-outside-section", .malformed, "a data_offset of 2^64 - 64, far past the tensor data",
            table { Patch.u64(&$0, entry(5) + 88, UInt64.max - 63) })
        bad("tensor-data-padding-nonzero", .malformed, "a padding byte after tensor 0's values is 0x01",
            raw { r in
                let t = r.sections[1].content
                r.sections[2].content[Int(t.u64(at: entry(0) + 88) + t.u64(at: entry(0) + 96))] = 1
            })
        bad("tensor-data-extra-block", .malformed, "the tensor data section is 64 bytes longer than its regions need",
            raw { $0.sections[2].content += [UInt8](repeating: 0, count: 64) })
        bad("tensor-data-nonzero-before-first-region", .malformed, "every region starts 64 bytes later and data offset 0 is 0x01: "
            + "bytes before the first region are padding too",
            raw { r in
                for j in 0..<Int(r.sections[1].content.u32(at: 0)) {
                    Patch.u64(&r.sections[1].content, entry(j) + 88, r.sections[1].content.u64(at: entry(j) + 88) + 64)
                }
                r.sections[2].content = [1] + [UInt8](repeating: 0, count: 63) + r.sections[2].content
            })
        bad("tensor-data-zstd-bomb", .malformed,
            "a 66 KB file whose tensor data is one zstd frame of 2 GiB of zeros, declared as 2 GiB (the limit, inclusive); "
            + "the table's regions end far earlier, so it is refused before decompressing",
            raw { $0.sections[2].storedOverride = Self.zstdFrame(zeros: Format.maxTensorDataBytes); $0.sections[2].sizeOverride = Format.maxTensorDataBytes })
        let int8 = RawFile(FixtureModels.micro(dtype: .int8)).withOptions(.init())
        bad("int8-scale-count-mismatch", .malformed, "an int8 tensor whose scale_size holds one scale fewer than it has rows",
            { var r = int8; Patch.u64(&r.sections[1].content, entry(0) + 112, r.sections[1].content.u64(at: entry(0) + 112) - 4); return r.bytes() }())

        // Step 8: cross-checks.
        bad("missing-tensor", .malformed, "the dense layer's bias names a tensor that is not in the table", model { $0.tensors.removeLast() })
        bad("unreferenced-tensor", .malformed, "an extra tensor no layer references",
            model { $0.tensors.append(Tensor(name: "orphan", shape: [2], values: [0.25, -0.25])) })
        bad("tensor-referenced-twice", .malformed, "b_hh names the same tensor as b_ih", model { m in
            guard case .lstm(var l) = m.metadata.layers[0] else { return }
            l.biasHH = l.biasIH
            m.metadata.layers[0] = .lstm(l)
            m.tensors.removeAll { $0.name == "lstm0.b_hh" }
        })
        bad("shape-mismatch", .shapeMismatch, "out.weight is [1, 4] but the dense layer (2 -> 2) needs [2, 2]",
            model { m in m.tensors[4].shape = [1, 4] })
        bad("rank-mismatch", .shapeMismatch, "out.bias is stored [2, 1] instead of [2]: a rank mismatch is a shape mismatch",
            model { m in m.tensors[5].shape = [2, 1] })
        bad("shape-transposed", .shapeMismatch, "lstm0.w_ih is stored [3, 8] instead of [4H, I] = [8, 3]",
            model { m in m.tensors[0].shape = [3, 8] })
        bad("width-mismatch", .malformed, "the dense layer takes 3 inputs but the lstm gives 2 (its weight is consistently [2, 3])", model { m in
            guard case .dense(var d) = m.metadata.layers[1] else { return }
            d.inputSize = 3
            m.metadata.layers[1] = .dense(d)
            m.tensors[4] = Tensor(name: "out.weight", shape: [2, 3], values: [0.5, -0.5, 0.25, -0.25, 0.125, -0.125])
        })
        bad("labels-count-mismatch", .malformed, "3 labels but the last layer has 2 outputs", model { $0.metadata.labels = ["a", "b", "c"] })
        bad("no-lstm-layer", .malformed, "a model of one dense layer (3 -> 2), no lstm", model { m in
            m.metadata.layers = [.dense(DenseLayer(name: "out", inputSize: 3, outputSize: 2, weight: "out.weight", bias: "out.bias"))]
            m.tensors = [Tensor(name: "out.weight", shape: [2, 3], values: [0.5, -0.5, 0.25, -0.25, 0.125, -0.125]), m.tensors[5]]
        })
        bad("last-lstm-returns-sequence", .malformed, "the only lstm returns \"sequence\" (per-step outputs, since 1.2) but min_reader_minor is 0", model { m in
            guard case .lstm(var l) = m.metadata.layers[0] else { return }
            l.returns = .sequence
            m.metadata.layers[0] = .lstm(l)
        })
        bad("int8-without-feature-bit", .malformed, "an int8 tensor but required_features lacks bit 3",
            { var r = int8; r.features &= ~FormatFeature.int8.bit; return r.bytes() }())
        bad("zstd-bit-without-zstd", .malformed, "required_features has bit 0 but no section uses zstd",
            patched(plain) { $0[16] |= 1 })

        // Step 8: values.
        bad("nan-weight", .invalidTensor, "a NaN in lstm0.w_hh", model { m in
            if case .f32(var v) = m.tensors[1].storage { v[3] = .nan; m.tensors[1].storage = .f32(v) }
        })
        bad("inf-weight", .invalidTensor, "+infinity in out.bias", model { m in
            if case .f32(var v) = m.tensors[5].storage { v[1] = .infinity; m.tensors[5].storage = .f32(v) }
        })
        let f16Model = FixtureModels.micro(dtype: .f16)
        bad("f16-nan", .invalidTensor, "an f16 NaN (0x7E00) in lstm0.b_ih", { var m = f16Model
            if case .f16(var v) = m.tensors[2].storage { v[0] = 0x7E00; m.tensors[2].storage = .f16(v) }
            return RawFile(m).withOptions(.init()).bytes() }())
        let bf16Model = FixtureModels.micro(dtype: .bf16)
        bad("bf16-infinity", .invalidTensor, "a bf16 -infinity (0xFF80) in out.weight", { var m = bf16Model
            if case .bf16(var v) = m.tensors[4].storage { v[2] = 0xFF80; m.tensors[4].storage = .bf16(v) }
            return RawFile(m).withOptions(.init()).bytes() }())
        let int8Model = FixtureModels.micro(dtype: .int8)
        for (name, scale, why) in [("zero", Float(0), "0"), ("negative", Float(-0.5), "-0.5"), ("nan", Float.nan, "NaN"), ("infinite", Float.infinity, "+infinity")] {
            bad("int8-scale-\(name)", .invalidTensor, "an int8 scale of \(why)", { var m = int8Model
                if case .int8(let q, var s) = m.tensors[0].storage { s[1] = scale; m.tensors[0].storage = .int8(values: q, scales: s) }
                return RawFile(m).withOptions(.init()).bytes() }())
        }
        bad("int8-minus-128", .invalidTensor, "an int8 value of -128 (symmetric int8 uses -127 ... 127)", { var m = int8Model
            if case .int8(var q, let s) = m.tensors[1].storage { q[0] = -128; m.tensors[1].storage = .int8(values: q, scales: s) }
            return RawFile(m).withOptions(.init()).bytes() }())
        bad("int8-dequantizes-to-infinity", .invalidTensor, "a finite scale of 3e38 with q = 127: f32(q) * s overflows", { var m = int8Model
            if case .int8(var q, var s) = m.tensors[4].storage { q[0] = 127; s[0] = 3e38; m.tensors[4].storage = .int8(values: q, scales: s) }
            return RawFile(m).withOptions(.init()).bytes() }())

        // Files with two faults: the class of the one §7 checks first (pins down the order).
        bad("order-crc-before-structure", .corrupted, "a nonzero reserved header byte without a CRC update: the checksum is checked first",
            patched(crc: false) { $0[40] = 1 })
        bad("order-size-limit-before-layout", .limitExceeded, "metadata size over 4 MiB and a wrong offset in the same entry: the size limit is checked first",
            patched { Patch.u64(&$0, Patch.entry(0) + 24, 5 << 20); Patch.u64(&$0, Patch.entry(0) + 8, 320) })
        bad("order-depth-before-syntax", .limitExceeded, "40 unclosed '[': the depth is measured before parsing",
            metaText([UInt8](repeating: 0x5B, count: 40)))
        bad("order-metadata-before-table", .unsupportedFeature, "an unknown layer type and tensor_count 0: the metadata is checked first",
            { var json = try! MetadataEncoding.json(micro.metadata)
              json.set([.key("model"), .key("layers"), .index(0), .key("type")], .string("transformer"))
              return raw { $0.sections[0].content = CanonicalJSON.encode(json); Patch.u32(&$0.sections[1].content, 0, 0) } }())
        bad("order-references-before-shapes", .malformed, "a missing tensor and a wrong shape: references are checked first",
            model { m in m.tensors[0].shape = [3, 8]; m.tensors.removeLast() })
        bad("order-shapes-before-architecture", .shapeMismatch, "a wrong shape and a labels count mismatch: shapes are checked first",
            model { m in m.tensors[4].shape = [1, 4]; m.metadata.labels = ["a", "b", "c"] })
        bad("order-architecture-before-values", .malformed, "a NaN weight and a labels count mismatch: architecture is checked first",
            model { m in
                if case .f32(var v) = m.tensors[1].storage { v[0] = .nan; m.tensors[1].storage = .f32(v) }
                m.metadata.labels = ["a", "b", "c"]
            })
        bad("order-features-before-values", .malformed, "an int8 -128 and a missing int8 feature bit: feature bits are checked first",
            { var m = int8Model
              if case .int8(var q, let s) = m.tensors[1].storage { q[0] = -128; m.tensors[1].storage = .int8(values: q, scales: s) }
              var r = RawFile(m).withOptions(.init())
              r.features &= ~FormatFeature.int8.bit
              return r.bytes() }())
        return items + textCorruptFiles() + v12CorruptFiles() + v13CorruptFiles() + v14CorruptFiles()
    }

    /// A zstd frame of `prefix` followed by `zeros` zero bytes, built block by block instead of
    /// compressing: single-segment with an 8-byte Frame_Content_Size, the prefix in raw blocks and
    /// the zeros in RLE blocks of at most 128 KiB, 4 bytes each (RFC 8878 §3.1.1.1, §3.1.1.2).
    /// 2 GiB of zeros take 64 KiB: a decompression bomb.
    static func zstdFrame(_ prefix: [UInt8] = [], zeros: Int) -> [UInt8] {
        let size = prefix.count + zeros
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0] + [UInt8](repeating: 0, count: 8)
        Patch.u64(&frame, 5, UInt64(size))
        let maxBlock = 128 << 10
        var done = 0
        repeat {
            let n = min(size - done, maxBlock)
            let raw = done < prefix.count
            let length = raw ? min(n, prefix.count - done) : n
            done += length
            // Block_Size, Block_Type (0 raw, 1 RLE), Last_Block.
            let header = UInt32(length) << 3 | (raw ? 0 : 1 << 1) | (done == size ? 1 : 0)
            frame += [UInt8(truncatingIfNeeded: header), UInt8(truncatingIfNeeded: header >> 8), UInt8(truncatingIfNeeded: header >> 16)]
            frame += raw ? Array(prefix[(done - length)..<done]) : [0]
        } while done < size
        return frame
    }

    /// Rewrites the Frame_Content_Size field of a zstd frame header (RFC 8878 §3.1.1.1).
    static func setFrameContentSize(_ frame: inout [UInt8], _ size: Int) {
        let descriptor = frame[4]
        let fcsFlag = Int(descriptor >> 6), singleSegment = (descriptor >> 5) & 1 == 1, dictFlag = Int(descriptor & 3)
        var at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]
        switch fcsFlag {
        case 0: if singleSegment { frame[at] = UInt8(truncatingIfNeeded: size) }
        case 1: Patch.u16(&frame, at, UInt16(size - 256))
        case 2: Patch.u32(&frame, at, UInt32(size))
        default: Patch.u64(&frame, at, UInt64(size))
        }
        at += 0
    }

    /// A JSON manifest: `[{"file": ..., "error": ..., "why": ...}, ...]`, one entry per line.
    package static func manifest(_ items: [Item]) -> [UInt8] {
        var out = Array("[\n".utf8)
        for (i, item) in items.enumerated() {
            var members: [(String, JSONValue)] = [("file", .string(item.file)), ("why", .string(item.why))]
            if let e = item.error { members.append(("error", .string(e))) }
            out += Array("  ".utf8) + CanonicalJSON.encode(.object(members)) + Array((i + 1 < items.count ? ",\n" : "\n").utf8)
        }
        return out + Array("]\n".utf8)
    }
}

extension RawFile {
    /// The same parts with other codecs (features updated).
    func withOptions(_ o: WriteOptions) -> RawFile {
        var r = self
        r.sections[0].codec = o.metadataCodec
        r.sections[1].codec = o.tensorCodec
        r.sections[2].codec = o.tensorCodec
        let zstdBit = FormatFeature.zstd.bit
        r.features = (r.features & ~zstdBit) | (r.usesZstd ? zstdBit : 0)
        return r
    }
}
