import Foundation
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTestSupport
@testable import RNNTraining  // batchLogits: the trainer's float32 forward pass of a padded, variable-length batch
import Testing

/// The trainer-made golden set (fixtures/golden/trainer, spec/GOLDEN.md "Trainer-made set"),
/// written by rnn-golden, in the 1.2 set's layout.
let trainerSetDirectory = goldenDirectory.appendingPathComponent("trainer")

extension Tolerance {
    /// binary32 inference on the trainer-made set: `1e-3` absolute, `1e-4` relative.
    ///
    /// The derivation of ``binary32FormatV12`` (the model of rounding of ``binary32``) with the
    /// trained weights' numbers; spec/GOLDEN.md, "Trainer-made set", has the table, and
    /// ``TrainerSetGoldenTests/roundingEstimate(_:)`` recomputes it from every committed model. Per
    /// recurrent layer and direction `δh ≈ T √K u S`: `T` = 28 rows or 29 steps, `K = I + H + 2`
    /// (dense_in folded: 13 ... 38), `S` the largest row 1-norm of `[A' R b']` against `|x| <= 1` and
    /// `|h| < 1`. Training made the weights larger than PyTorch's initialization: `S` is up to 17.2
    /// for the image models (and is reached: the all-255 image has every pixel at 1) and 9.5 for the
    /// feature models. The two directions of a bidirectional layer meet as `√2`, independent errors
    /// add in quadrature: the second layer of `image-stacked-bigru` takes the first's 2.4e-4 through
    /// input rows of 2-norm <= 1.6 and adds its own 1.1e-4, 4.0e-4 in `h`; `dense_out` (row 2-norm
    /// 2.1) makes that 8.3e-4, and a runtime's activation approximations (<= 1e-6 each) add
    /// `28 × 1e-6 × 2.1 ≈ 6e-5` per layer and direction, 1.2e-4 over its four. That largest
    /// estimate, 9.5e-4 (the others: 1.4e-4 ... 5.4e-4), sets `absolute = 1e-3`; the relative term
    /// is the other sets'. A statistically safe estimate, not a bound: the measured differences stay
    /// below 3e-6, and a misread model misses by more than 400 times the tolerance.
    static let binary32TrainerSet = Tolerance(absolute: 1e-3, relative: 1e-4)
}

/// Every model of the trainer-made set, against the trainer's own float64 outputs: the committed
/// files are consistent, `forward64` of each committed model reproduces its JSON, and the runtime
/// (every kernel variant, threads, block sizes), the trainer's float32 pass, ``ReferenceModel`` and
/// the Python reference reader reproduce them within the tolerance, which a wrong GRU reset,
/// swapped directions, the other pool or a dropped standardization exceed by far.
@Suite struct TrainerSetGoldenTests {
    static let kinds = ["gru-after", "gru-before", "bilstm", "bigru", "stacked-bigru", "gru-mean", "bilstm-max"]
    static var cases: [V12Manifest.Case] { (try? V12Manifest.load(from: trainerSetDirectory).cases) ?? [] }

    @Test func manifestListsEveryFileAndCoversEveryLayerKindOnBothInputs() throws {
        let manifest = try V12Manifest.load(from: trainerSetDirectory)
        #expect(manifest.models.map(\.file) == (Self.kinds.map { "image-\($0)" } + Self.kinds).map { "\($0).rnnm" })
        #expect(manifest.cases.map(\.model) == manifest.models.map(\.file))
        #expect(manifest.models.allSatisfy { $0.dtype == "f32" && $0.output == "logits" && !$0.outputs_per_step })
        let tolerance = Tolerance.binary32TrainerSet
        #expect(manifest.tolerance["binary32"] == .init(absolute: tolerance.absolute, relative: tolerance.relative))
        #expect(manifest.tolerance["binary64"] == .init(absolute: Tolerance.binary64.absolute, relative: Tolerance.binary64.relative))
        expectManifestNamesEveryFile(manifest, in: trainerSetDirectory)
        for c in manifest.cases {
            #expect(c.images == nil || c.images == "../inputs-37.idx3", "\(c.model): the images are the 1.0 set's")
        }
    }

    /// Each file is what the trainer exports for its layer kind (read back by the trainer's importer),
    /// and each expected file fits its model and input.
    @Test(arguments: cases)
    func everyModelIsATrainerExportOfItsLayerKind(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        let file = golden.file, metadata = file.metadata
        #expect(metadata.provenance.producer == "rnn-train")
        let a = try LSTMParameters<Float>(model: file).architecture
        let kind = c.model.replacingOccurrences(of: "image-", with: "").replacingOccurrences(of: ".rnnm", with: "")
        #expect(a.cell == (kind.contains("gru") ? .gru : .lstm), "\(c.model)")
        #expect(a.gruReset == (kind == "gru-before" ? .before : .after), "\(c.model)")
        #expect(a.bidirectional == (kind.hasPrefix("bi") || kind.hasPrefix("stacked")), "\(c.model)")
        #expect(a.layerCount == (kind.hasPrefix("stacked") ? 2 : 1), "\(c.model)")
        #expect(a.pooling == (kind.hasSuffix("-mean") ? .mean : kind.hasSuffix("-max") ? .max : .last), "\(c.model)")
        let bytes = Array(try Data(contentsOf: trainerSetDirectory.appendingPathComponent(c.model)))
        #expect(bytes[14] == (a.pooling == .last ? 2 : 3) && bytes[15] == 0, "\(c.model): min_reader_minor")
        #expect(try ModelWriter.encode(file) == bytes, "\(c.model) is not canonical")
        let e = golden.expected
        #expect(e.model == c.model && e.classes == metadata.labels.count && e.logits && !e.perStep)
        if golden.sequences.isEmpty {
            #expect(metadata.input.kind == .imageRows && e.count == 37 && e.lengths == [Int](repeating: 28, count: 37))
        } else {
            let features = try #require(metadata.input.features)
            #expect(e.lengths == golden.sequences.map { $0.count / features.width })
            #expect(e.lengths.contains(1) && e.lengths.contains(features.maxLength))
            // Standardization stored in the file, with the constant training feature's std exactly 0.
            let std = try #require(features.std.flatMap { file.tensor(named: $0) }).floatValues()
            #expect(features.mean != nil && std.filter { $0 == 0 }.count == 1, "\(c.model): std \(std)")
        }
        for (b, steps) in e.outputs.enumerated() {
            let row = steps[0]
            let sorted = row.sorted(by: >)
            #expect(e.predictions[b][0] == row.firstIndex(of: sorted[0]) && e.margins[b][0] == sorted[0] - sorted[1], "\(c.model) \(b)")
        }
    }

    /// The expected values are `forward64`'s: an edited JSON (or a changed forward64) fails here
    /// without running the generator. Bitwise equal with the generator's pinned OpenBLAS kernels;
    /// the binary64 tolerance covers this process's own kernels.
    @Test(arguments: cases)
    func forward64OfTheCommittedModelReproducesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        Self.expect(try Self.forward64Outputs(golden.file, golden), golden, .binary64, "forward64 \(c)")
    }

    /// The trainer's own binary32 forward pass (the code behind its accuracies): images through its
    /// evaluator, feature sequences standardized by its ``Standardization`` and run padded to
    /// `max_length` with their lengths.
    @Test(arguments: cases)
    func trainerFloat32ForwardMatchesWithinTheBinary32Tolerance(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        let parameters = try LSTMParameters<Float>(model: golden.file)
        let logits: [Float]
        if golden.sequences.isEmpty {
            let evaluator = Evaluator(architecture: parameters.architecture, timeSteps: 28, threads: 1)
            logits = evaluator.logits(parameters: parameters, images: golden.pixels, count: golden.expected.count)
        } else {
            let (x, lengths, steps) = try Self.standardizedByTheTrainer(golden)
            logits = batchLogits(parameters: parameters, sequences: x, count: lengths.count, timeSteps: steps, lengths: lengths)
        }
        let classes = golden.expected.classes
        let actual = (0..<golden.expected.count).map { b in [(0..<classes).map { Double(logits[b * classes + $0]) }] }
        Self.expect(actual, golden, .binary32TrainerSet, "trainer f32 \(c)", predictions: true)
    }

    @Test(arguments: cases)
    func runtimeMatchesWithinTheBinary32Tolerance(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        let model = try Model(golden.file, options: LoadOptions(evaluation: .float))  // the float evaluation's golden values
        for (name, options) in V12GoldenTests.runtimeVariants {
            let actual: [[[Double]]]
            if golden.sequences.isEmpty {
                let result = try model.classify(pixels: golden.pixels, options: options)
                actual = (0..<result.count).map { b in [(0..<result.classCount).map { Double(result.logits[b * result.classCount + $0]) }] }
            } else {
                let result = try model.classify(sequences: golden.sequences, options: options)
                actual = (0..<golden.sequences.count).map { b in result.outputs(of: b).map { $0.map(Double.init) } }
            }
            Self.expect(actual, golden, .binary32TrainerSet, "runtime \(c) [\(name)]", predictions: true)
        }
    }

    @Test(arguments: cases)
    func swiftReferenceModelMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        let reference = ReferenceModel(golden.file)
        let actual = golden.sequences.isEmpty
            ? try reference.logits(pixels: golden.pixels).map { [$0] }
            : try reference.outputs(sequences: golden.sequences)
        Self.expect(actual, golden, .binary64, "ReferenceModel \(c)")
    }

    /// spec/reference/rnnm.py, run as the other golden tests run it (`python3 rnnm.py forward`).
    @Test(arguments: cases)
    func pythonReferenceReaderMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        Self.expect(try pythonReferenceOutputs(c, golden, in: trainerSetDirectory), golden, .binary64, "python \(c)")
    }

    // MARK: - The tolerance's derivation

    /// ``Tolerance/binary32TrainerSet``'s derivation, recomputed from each committed model's weights
    /// (spec/GOLDEN.md, "Tolerance for binary32 (trainer-made set)"), stays within its absolute term,
    /// so a regenerated set with larger weights fails here instead of quietly outgrowing it.
    @Test(arguments: cases)
    func theToleranceCoversTheRoundingEstimateOfEveryModel(_ c: V12Manifest.Case) throws {
        let file = try V12Case(c, in: trainerSetDirectory).file
        let estimate = try Self.roundingEstimate(file)
        print("[golden trainer] \(c.model): \(estimate.text)")
        #expect(estimate.logits <= Tolerance.binary32TrainerSet.absolute, "\(c.model): \(estimate.text)")
    }

    /// The estimate of a binary32 forward pass's error on `file`'s outputs, under the golden sets'
    /// model of rounding (independent zero-mean errors, a contractive state map):
    ///
    /// - each recurrent layer and direction adds `T √K u S` to `h`, with `K = I + H + 2` and `S` the
    ///   largest row 1-norm of `[A' R b_ih' b_hh]` (`dense_in` folded into the first layer:
    ///   `A' = W_ih W_in`, `b_ih' = b_ih + W_ih b_in`), for `|x| <= 1` and `|h| < 1`;
    /// - the two directions of a layer meet as `√2`; the error of the layer below enters through the
    ///   layer's input rows (largest 2-norm), and independent errors add in quadrature;
    /// - `dense_out`'s largest row 2-norm maps `δh` to the outputs, and a runtime's activation
    ///   approximations (at most 1e-6 each) add `T × 1e-6 × that norm` per layer and direction, in
    ///   quadrature over them.
    static func roundingEstimate(_ file: ModelFile) throws -> (logits: Double, text: String) {
        let p = try LSTMParameters<Double>(model: file), a = p.architecture
        let input = file.metadata.input
        let steps = Double(input.kind == .imageRows ? input.height : try #require(input.features).maxLength)
        let u = 0x1p-24, h = a.hiddenSize
        let win = p.tensor(try #require(p.layout.denseInWeight)), bin = p.tensor(try #require(p.layout.denseInBias))  // [H, I], [H]
        func rowNorm2(_ w: [Double], columns: Int) -> Double {
            stride(from: 0, to: w.count, by: columns).map { r in w[r..<(r + columns)].reduce(0) { $0 + $1 * $1 }.squareRoot() }.max()!
        }
        var carried = 0.0, parts: [String] = []
        for (l, directions) in p.layout.recurrent.enumerated() {
            let width = a.layerInputSize(l)
            var own = 0.0, inputRows = 0.0
            for s in directions {
                let wih = p.tensor(s.weightIH), whh = p.tensor(s.weightHH), bih = p.tensor(s.biasIH), bhh = p.tensor(s.biasHH)
                var largest = 0.0
                for r in 0..<a.gateRows {
                    let w = wih[(r * width)..<((r + 1) * width)]
                    var rowSum: Double, bias = bih[r]
                    if l == 0 {  // A' = W_ih W_in: row r is sum_j w[j] W_in[j, :]
                        rowSum = (0..<a.inputSize).reduce(0) { sum, i in
                            sum + abs(w.indices.reduce(0) { $0 + w[$1] * win[($1 - w.startIndex) * a.inputSize + i] })
                        }
                        bias += w.indices.reduce(0) { $0 + w[$1] * bin[$1 - w.startIndex] }
                    } else {
                        rowSum = w.reduce(0) { $0 + abs($1) }
                    }
                    rowSum += whh[(r * h)..<((r + 1) * h)].reduce(0) { $0 + abs($1) } + abs(bias) + abs(bhh[r])
                    largest = max(largest, rowSum)
                }
                let k = Double((l == 0 ? a.inputSize : width) + h + 2)
                own = max(own, steps * k.squareRoot() * u * largest)
                inputRows = max(inputRows, rowNorm2(wih, columns: width))
                parts.append("layer \(l) S \(String(format: "%.1f", largest)) K \(Int(k))")
            }
            own *= Double(directions.count).squareRoot()
            // dense_in's own error is part of the first layer's folded sums; above it, the layer below's.
            carried = l == 0 ? own : ((carried * inputRows) * (carried * inputRows) + own * own).squareRoot()
        }
        let outRows = rowNorm2(p.tensor(p.layout.denseOutWeight), columns: a.outputWidth)
        let activations = steps * 1e-6 * outRows * Double(a.layerCount * a.directionCount).squareRoot()
        let logits = carried * outRows + activations
        let text = parts.joined(separator: ", ") + String(format: "; δh %.2e, dense_out rows %.2f, activations %.1e: %.2e on the outputs",
                                                          carried, outRows, activations, logits)
        return (logits, text)
    }

    // MARK: - Teeth

    /// The tolerance separates right from wrong: `forward64` of each model with one thing changed
    /// (the GRU's other reset placement, the two directions swapped, the other pool, no
    /// standardization) moves some output by more than 100 times the binary32 tolerance.
    @Test(arguments: cases)
    func aMisreadModelMissesTheExpectedValuesByFar(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: trainerSetDirectory)
        let tolerance = Tolerance.binary32TrainerSet
        var misreadings = Self.misreadings(of: golden.file)
        if !golden.sequences.isEmpty {
            var unstandardized = golden.file
            unstandardized.metadata.input.features?.mean = nil
            unstandardized.metadata.input.features?.std = nil
            misreadings.append(("no standardization", unstandardized))
        }
        try #require(!misreadings.isEmpty, "\(c.model): nothing to misread")
        for (what, file) in misreadings {
            let outputs = try Self.forward64Outputs(file, golden)
            var difference = LogitDifference()
            _ = compare(outputs, golden.expected, tolerance: tolerance, into: &difference, label: what)
            print("[golden trainer] \(c.model) read with \(what): \(difference)")
            #expect(difference.worstRatio > 100, "\(c.model) read with \(what) stays within \(difference.worstRatio) x the tolerance")
        }
    }

    /// `file` misread in each way that applies to its layers.
    static func misreadings(of file: ModelFile) -> [(String, ModelFile)] {
        var result: [(String, ModelFile)] = []
        func changed(_ what: String, _ change: (inout Layer) -> Bool) {
            var copy = file
            var any = false
            for k in copy.metadata.layers.indices where change(&copy.metadata.layers[k]) { any = true }
            if any { result.append((what, copy)) }
        }
        changed("the other GRU reset") { layer in
            guard case .gru(var g) = layer else { return false }
            g.reset = g.reset == .after ? .before : .after
            layer = .gru(g)
            return true
        }
        changed("the directions swapped") { layer in
            switch layer {
            case .gru(var g):
                guard let r = g.reverse else { return false }
                g.reverse = ReverseTensors(weightIH: g.weightIH, weightHH: g.weightHH, biasIH: g.biasIH, biasHH: g.biasHH)
                (g.weightIH, g.weightHH, g.biasIH, g.biasHH) = (r.weightIH, r.weightHH, r.biasIH, r.biasHH)
                layer = .gru(g)
            case .lstm(var l):
                guard let r = l.reverse else { return false }
                l.reverse = ReverseTensors(weightIH: l.weightIH, weightHH: l.weightHH, biasIH: l.biasIH, biasHH: l.biasHH)
                (l.weightIH, l.weightHH, l.biasIH, l.biasHH) = (r.weightIH, r.weightHH, r.biasIH, r.biasHH)
                layer = .lstm(l)
            default:
                return false
            }
            return true
        }
        changed("the other pool") { layer in
            guard case .pool(var p) = layer else { return false }
            p.mode = p.mode == .mean ? .max : .mean
            layer = .pool(p)
            return true
        }
        return result
    }

    // MARK: - Helpers

    /// `forward64` of `file` on the case's input, as `[sequence][0][k]`.
    static func forward64Outputs(_ file: ModelFile, _ golden: V12Case) throws -> [[[Double]]] {
        let logits: [Double]
        if golden.sequences.isEmpty {
            logits = try forward64(model: file, images: golden.pixels, count: golden.expected.count)
        } else {
            let features = try #require(file.metadata.input.features)
            let width = features.width, steps = features.maxLength
            var padded = [Float](repeating: 0, count: golden.sequences.count * steps * width)
            for (b, x) in golden.sequences.enumerated() {
                for (k, v) in x.enumerated() { padded[b * steps * width + k] = v }
            }
            logits = try forward64(model: file, features: padded, lengths: golden.expected.lengths)
        }
        let classes = golden.expected.classes
        return (0..<golden.expected.count).map { b in [Array(logits[(b * classes)..<((b + 1) * classes)])] }
    }

    /// The case's sequences standardized by the trainer's ``Standardization`` with the file's
    /// statistics and padded to `max_length`, batch-major: what the trainer's engine runs.
    static func standardizedByTheTrainer(_ golden: V12Case) throws -> (x: [Float], lengths: [Int], steps: Int) {
        let file = golden.file
        let features = try #require(file.metadata.input.features)
        let mean = try #require(features.mean.flatMap { file.tensor(named: $0) }).floatValues()
        let std = try #require(features.std.flatMap { file.tensor(named: $0) }).floatValues()
        let raw = try FeatureSequences(features: features.width, values: golden.sequences)
        let standardized = Standardization(mean: mean, std: std).apply(to: raw)
        let set = LabeledSequences(sequences: standardized, labels: [Int](repeating: 0, count: raw.count))
        let padded = PaddedSequences(set, timeSteps: features.maxLength)
        return (padded.values, padded.lengths, features.maxLength)
    }

    /// `actual[sequence][0][k]` against the expected values within `tolerance`, printing the largest
    /// difference; with `predictions`, the arg-max must match except at a tie within the tolerance
    /// (spec/GOLDEN.md, "What to compare").
    static func expect(_ actual: [[[Double]]], _ golden: V12Case, _ tolerance: Tolerance, _ label: String,
                       predictions: Bool = false) {
        var difference = LogitDifference()
        let problems = compare(actual, golden.expected, tolerance: tolerance, into: &difference, label: label)
        print("[golden trainer] \(label): \(difference)")
        #expect(problems.isEmpty, "\(problems)")
        #expect(difference.passes, "\(label): \(difference)")
        guard predictions, problems.isEmpty else { return }
        for (b, steps) in actual.enumerated() {
            let row = steps[0]
            let predicted = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
            let want = golden.expected.predictions[b][0]
            if predicted != want {
                #expect(golden.expected.margins[b][0] <= 2 * tolerance.bound(golden.expected.outputs[b][0].max()!),
                        "\(label) input \(b): class \(predicted), expected \(want)")
            }
        }
    }
}

/// Every file of `directory` is named by the manifest (a model, an input of its own, an expected
/// file or the manifest), every name exists, every case's inputs are among the manifest's inputs,
/// and each case reads either images or features with their lengths.
func expectManifestNamesEveryFile(_ manifest: V12Manifest, in directory: URL) {
    var named: Set<String> = ["manifest.json"]
    for m in manifest.models { named.insert(m.file) }
    for i in manifest.inputs where !i.file.hasPrefix("../") { named.insert(i.file) }
    for c in manifest.cases {
        named.insert(c.expected)
        for input in [c.features, c.lengths, c.images].compactMap({ $0 }) {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(input).path), "\(input)")
            #expect(manifest.inputs.contains { $0.file == input }, "\(c.model): input \(input) is not in the manifest's inputs")
        }
        #expect((c.features != nil) == (c.lengths != nil) && (c.features != nil) != (c.images != nil), "\(c.model)")
    }
    let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
    #expect(present == named, "unlisted: \(present.subtracting(named).sorted()), missing: \(named.subtracting(present).sorted())")
}

/// What spec/reference/rnnm.py's float64 forward pass gives for case `c` of the set in `directory`
/// (`python3 rnnm.py forward MODEL --features X --lengths N`, or `--images RAW` with the IDX payload),
/// as `[sequence][step][k]`.
func pythonReferenceOutputs(_ c: V12Manifest.Case, _ golden: V12Case, in directory: URL) throws -> [[[Double]]] {
    let script = repositoryRoot.appendingPathComponent("spec/reference/rnnm.py").path
    var arguments = ["python3", script, "forward", directory.appendingPathComponent(c.model).path]
    let temporary = try temporaryDirectory("python")
    defer { try? FileManager.default.removeItem(at: temporary) }
    if let features = c.features, let lengths = c.lengths {
        arguments += ["--features", directory.appendingPathComponent(features).path,
                      "--lengths", directory.appendingPathComponent(lengths).path]
    } else {
        let raw = temporary.appendingPathComponent("images.u8")
        try Data(golden.pixels).write(to: raw)
        arguments += ["--images", raw.path]
    }
    let (status, out, err) = try runProcess("/usr/bin/env", arguments)
    try #require(status == 0, "rnnm.py forward \(c.model) exited \(status): \(err)\(out)")
    // {"outputs": ...} for features cases, {"logits": ...} for an image logits model.
    let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    let values = try #require(object["outputs"] ?? object["logits"], "no outputs in \(out.prefix(200))")
    return try V12GoldenTests.nested(values, perStep: golden.expected.perStep)
}
