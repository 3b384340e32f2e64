import RNNFormat

/// The format-1.3 fixtures: the `pool` layer (spec §6.1, mean or max over each sequence's steps),
/// and files that break each of its rules.
extension FixtureModels {
    /// 5 x 6 images -> gru(4, sequence) -> mean pool -> 3 classes: the smallest change from the 1.2
    /// hex dump's model that needs 1.3 (spec §10.2).
    static func tinyPool() -> ModelFile {
        recurrent(seed: 30, source: .image(height: 5, width: 6), cells: [.gru(4)], labels: ["a", "b", "c"], pool: .mean)
    }

    /// Features (3 per step) -> bidirectional gru(2, sequence) -> mean pool over 2H = 4 -> 2 classes:
    /// the base of the 1.3 corrupt files.
    static func micro13() -> ModelFile {
        recurrent(seed: 31, source: .features(width: 3, maxLength: 4, standardized: false),
                  cells: [.gru(2, bidirectional: true)], labels: ["no", "yes"], pool: .mean)
    }
}

extension FixtureCorpus {
    /// Good 1.3 models (appended to ``goodModels()``); they are also seeds of the reader fuzzer.
    static func v13Models() -> [Item] {
        var items: [Item] = []
        func add(_ file: String, _ why: String, _ m: ModelFile, _ o: WriteOptions = .init()) {
            items.append(Item(file: file, error: nil, why: why, bytes: try! ModelWriter.encode(m, options: o)))
        }
        add("pool-uncompressed.rnnm", "format 1.3: 5x6 image rows -> gru(4, sequence) -> pool mean (4) -> dense(3); f32, codec none: the third hex dump of spec §10",
            FixtureModels.tinyPool(), .uncompressed)
        add("gru-mean-pool.rnnm", "format 1.3: features (3, max 6) -> gru(5, sequence) -> pool mean (5) -> dense(3); f32, zstd",
            FixtureModels.recurrent(seed: 32, source: .features(width: 3, maxLength: 6, standardized: false),
                                    cells: [.gru(5)], labels: ["a", "b", "c"], pool: .mean))
        add("bilstm-max-pool.rnnm", "format 1.3: features (4, max 8, standardized) -> bidirectional lstm(3, sequence) -> pool max over 2H = 6 -> dense(2); f32, zstd",
            FixtureModels.recurrent(seed: 33, source: .features(width: 4, maxLength: 8, standardized: true),
                                    cells: [.lstm(3, bidirectional: true)], labels: ["a", "b"], pool: .max))
        return items
    }

    /// Bad 1.3 files (appended to ``corruptFiles()``), each breaking one rule of spec §3 or §6.1 `pool`.
    static func v13CorruptFiles() -> [Item] {
        let base = FixtureModels.micro13()
        var items: [Item] = []
        func bad(_ name: String, _ error: ModelFormatError.Kind, _ why: String, _ bytes: [UInt8]) {
            items.append(Item(file: name + ".rnnm", error: error.rawValue, why: why, bytes: bytes))
        }
        func json(_ edit: @escaping (inout JSONValue) -> Void) -> [UInt8] { RawFile.versioned(base, minor: 3, json: edit) }
        /// `base` with its layers rearranged, encoded unchecked with `min_reader_minor` 3.
        func layers(_ edit: (inout [Layer]) -> Void) -> [UInt8] {
            var m = base
            edit(&m.metadata.layers)
            return RawFile.versioned(m, minor: 3)
        }
        let pool: [JSONPath] = [.key("model"), .key("layers"), .index(1)]
        bad("pool-unknown-mode", .unsupportedFeature, "a pool layer with mode \"median\" (known: \"mean\", \"max\")",
            json { $0.set(pool + [.key("mode")], .string("median")) })
        bad("pool-mode-number", .malformed, "a pool layer whose mode is the number 1, not a string",
            json { $0.set(pool + [.key("mode")], .number("1")) })
        bad("pool-size-missing", .malformed, "a pool layer without the required member \"size\"",
            json { $0.set(pool + [.key("size")], nil) })
        bad("pool-size-0", .malformed, "a pool layer of size 0 (a layer width is 1 ... 16,777,216)",
            json { $0.set(pool + [.key("size")], .number("0")) })
        bad("pool-size-mismatch", .malformed, "a pool of size 2 after a bidirectional gru(2), whose steps are 2H = 4 wide",
            json { $0.set(pool + [.key("size")], .number("2")) })
        bad("pool-after-last", .malformed, "a pool after a recurrent layer that returns \"last\" (a pool reads every step)",
            json { $0.set([.key("model"), .key("layers"), .index(0), .key("return")], .string("last")) })
        bad("pool-first", .malformed, "a pool as the first layer, before the recurrent layer", layers { $0.insert($0.remove(at: 1), at: 0) })
        bad("pool-after-dense", .malformed, "a pool after the dense output layer instead of right after the last recurrent layer",
            layers { l in
                l.remove(at: 1)
                l.append(.pool(PoolLayer(name: "pool", mode: .mean, size: 2)))
            })
        bad("pool-twice", .malformed, "two pool layers in a row", layers { $0.insert(.pool(PoolLayer(name: "pool2", mode: .max, size: 4)), at: 2) })
        bad("pool-min-reader-1.2", .malformed, "a pool layer (1.3) but min_reader_minor 2: a 1.2 reader would misreport it as an unknown layer type",
            RawFile.versioned(base, minor: 2))
        return items
    }
}
