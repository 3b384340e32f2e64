import Foundation
import RNNCore
import RNNFormat
import RNNRuntime
import Testing

/// Agreement of the runtime's int8 evaluation (spec/FORMAT.md §6.6) with the independent Python
/// reference's (`spec/reference/rnnm.py forward ... --evaluation int8`, exact integer sums, then
/// float64), through real `.rnnm` files: every int8 fixture and a few written random models, on every
/// kernel variant this CPU has, with 1 and 2 threads.
///
/// Rule (spec/GOLDEN.md, "The int8 evaluation"): every input's outputs within the float tolerance
/// (``FastPathTests/tolerance``, relative to `max(1, |ref|)`), or the input is *excused* when the
/// reference found one of its quantized values within `10^-3` (units of `q`) of a rounding boundary
/// (binary32 gates whose last bits differ may then round that value to the neighbouring integer).
/// The excuse must stay rare: at most ``excusedShareLimit`` of the inputs of one run.
///
/// These tests can fail. Run once with the runtime loaded as `LoadOptions(evaluation: .float)`
/// (``runtimeEvaluation`` below), the suite failed with 866 issues: on every one of the 8 models with a
/// qualifying layer and on every variant, inputs beyond tolerance whose margin excuses nothing
/// (portable, 1 thread: tiny-h8-int8 12 of 23, gru-after-int8 11 of 30, stacked-bigru-int8 7 of 33,
/// tiny-int8 35 of 40, the four random models 15 to 19), the excused share above 20 % (7 of the 8),
/// the runtime within 4.2e-7 of rnnm.py's *float* evaluation (expected: beyond 1e-4 somewhere) and
/// `int8LayerCount` 0; the two CNN fixtures (no recurrent layer, so int8 = float) passed, as they should.
@Suite(.enabled(if: PythonReferenceTests.available, "needs python3 and spec/reference/rnnm.py"))
struct Int8ReferenceTests {
    /// The evaluation the runtime is loaded with (`.automatic`: the int8 evaluation of the qualifying
    /// layers). Set to `.float` to see the suite fail (see the type's comment).
    static let runtimeEvaluation = RecurrentEvaluation.automatic
    /// Spec §6.6 (informative) / rnnm.py's MARGIN_SKIP.
    static let excuseMargin = 1e-3
    /// The largest share of one run's inputs that may be excused by their rounding margin.
    static let excusedShareLimit = 0.2

    // MARK: Cases

    enum Source: Sendable {
        /// A file under the repository root.
        case fixture(String)
        /// An image_rows model: a dense stem (which must not fold into the int8 LSTM), an LSTM, a dense head.
        case randomLSTM
        /// An image_rows model: a bidirectional reset-after GRU, then a bidirectional LSTM.
        case randomStacked
        /// A standardized features model: an LSTM, then a reset-after GRU.
        case randomFeatures
        /// A tokens model: an f32 embedding, then an int8 LSTM.
        case randomTokens
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var source: Source
        var count: Int
        var description: String { name }
    }

    /// Every int8 model under fixtures/models and fixtures/golden (the corrupt ones live elsewhere).
    static let fixtureCases: [Case] = {
        var found: [String] = []
        for folder in ["fixtures/models", "fixtures/golden"] {
            let root = repositoryRoot.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            while let path = walker.nextObject() as? String {
                let name = (path as NSString).lastPathComponent
                if name.hasSuffix(".rnnm"), name.contains("int8") { found.append("\(folder)/\(path)") }
            }
        }
        return found.sorted().enumerated().map { n, path in Case(name: path, source: .fixture(path), count: 23 + (7 * n) % 18) }
    }()

    static let cases: [Case] = fixtureCases + [
        Case(name: "random LSTM with a dense stem", source: .randomLSTM, count: 37),
        Case(name: "random bidirectional GRU (reset after) + bidirectional LSTM", source: .randomStacked, count: 40),
        Case(name: "random features LSTM + GRU", source: .randomFeatures, count: 33),
        Case(name: "random tokens LSTM", source: .randomTokens, count: 31),
    ]

    /// The model of `testCase`, as a ``ModelFile`` and as a file in `directory`.
    static func model(_ testCase: Case, in directory: URL) throws -> (ModelFile, URL) {
        let file: ModelFile
        switch testCase.source {
        case .fixture(let path):
            let url = repositoryRoot.appendingPathComponent(path)
            return (try ModelReader.read(contentsOf: url.path), url)
        case .randomLSTM:
            file = randomModel(height: 14, width: 12, layers: [
                .dense(out: 16, activation: .none), .lstm(hidden: 24, returns: .last), .dense(out: 7, activation: .none),
            ], seed: 61, dtype: .int8)
        case .randomStacked:
            file = randomModel(height: 10, width: 9, layers: [
                .gru(hidden: 12, returns: .sequence, reset: .after, bidirectional: true),
                .lstm(hidden: 10, returns: .last, bidirectional: true), .dense(out: 5, activation: .none),
            ], seed: 62, dtype: .int8)
        case .randomFeatures:
            file = randomModel(height: 0, width: 0, layers: [
                .lstm(hidden: 14, returns: .sequence), .gru(hidden: 11, returns: .last), .dense(out: 4, activation: .none),
            ], seed: 63, dtype: .int8, features: FeatureInputSpec(width: 5, maxLength: 19))
        case .randomTokens:
            let features = randomModel(height: 0, width: 0, layers: [
                .lstm(hidden: 12, returns: .last), .dense(out: 3, activation: .none),
            ], seed: 64, dtype: .int8, features: FeatureInputSpec(width: 6, maxLength: 16, standardize: false))
            file = tokensModel(from: features, vocabulary: Self.words, maxLength: 16, seed: 65).0
        }
        return (file, try writeModel(file, to: directory))
    }

    static let words = ["good", "bad", "film", "plot", "actor", "scene", "long", "short", "music", "story", "dull", "great"]

    /// Spec §6.6 *Which layers*: LSTMs and reset-after GRUs whose `w_ih`, `w_hh` (and reverse ones) are all int8.
    static func qualifyingLayers(_ file: ModelFile) -> Int {
        func int8(_ names: [String]) -> Bool { names.allSatisfy { file.tensor(named: $0)?.dtype == .int8 } }
        return file.metadata.layers.filter { layer in
            switch layer {
            case .lstm(let l): int8([l.weightIH, l.weightHH] + (l.reverse.map { [$0.weightIH, $0.weightHH] } ?? []))
            case .gru(let g): g.reset == .after && int8([g.weightIH, g.weightHH] + (g.reverse.map { [$0.weightIH, $0.weightHH] } ?? []))
            default: false
            }
        }.count
    }

    // MARK: Inputs and the two implementations

    enum Inputs {
        case pixels([UInt8])
        case sequences([[Float]], width: Int)
        case texts([String])
    }

    static func inputs(for file: ModelFile, model: Model, count: Int, seed: UInt64) -> Inputs {
        var rng = SplitMix64(seed: seed)
        let input = file.metadata.input
        if let features = input.features {
            return .sequences((0..<count).map { _ in
                let length = 1 + Int(rng.next() % UInt64(features.maxLength))
                return (0..<(length * features.width)).map { _ in rng.uniform(2) }
            }, width: features.width)
        }
        if let tokens = input.tokens {
            return .texts((0..<count).map { _ in
                let length = 1 + Int(rng.next() % UInt64(tokens.maxLength))
                return (0..<length).map { _ in
                    let k = Int(rng.next() % UInt64(tokens.vocabulary.count + 1))
                    return k == tokens.vocabulary.count ? "unheard" : tokens.vocabulary[k]  // out of vocabulary
                }.joined(separator: " ")
            })
        }
        return .pixels(rng.bytes(count * model.pixelsPerImage))
    }

    static func classify(_ model: Model, _ inputs: Inputs, options: ClassifyOptions) throws -> BatchResult {
        switch inputs {
        case .pixels(let pixels): try model.classify(pixels: pixels, options: options)
        case .sequences(let sequences, _): try model.classify(sequences: sequences, options: options)
        case .texts(let texts): try model.classify(texts: texts, options: options)
        }
    }

    /// A `.npy` version 1.0 file, little-endian, C order.
    static func npy(_ descr: String, shape: [Int], bytes: [UInt8]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let size = header.utf8.count
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(size & 0xFF), UInt8(size >> 8)] + Array(header.utf8) + bytes)
    }

    struct Reference {
        var outputs: [[Double]]
        var margins: [Double]
    }

    /// Runs `rnnm.py forward` with `--evaluation evaluation` on `inputs`.
    static func reference(_ url: URL, _ inputs: Inputs, evaluation: String, count: Int) throws -> Reference {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var arguments = ["python3", PythonReferenceTests.script.path, "forward", url.path, "--evaluation", evaluation]
        switch inputs {
        case .pixels(let pixels):
            let raw = dir.appendingPathComponent("images.u8")
            try Data(pixels).write(to: raw)
            arguments += ["--images", raw.path]
        case .sequences(let sequences, let width):
            let steps = sequences.map { $0.count / width }.max()!
            var padded = [Float](repeating: 0, count: sequences.count * steps * width)
            for (n, s) in sequences.enumerated() { padded.replaceSubrange((n * steps * width)..<(n * steps * width + s.count), with: s) }
            let x = dir.appendingPathComponent("x.npy"), lengths = dir.appendingPathComponent("lengths.npy")
            try npy("<f4", shape: [sequences.count, steps, width],
                    bytes: padded.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).write(to: x)
            try npy("<i8", shape: [sequences.count],
                    bytes: sequences.flatMap { withUnsafeBytes(of: Int64($0.count / width).littleEndian, Array.init) }).write(to: lengths)
            arguments += ["--features", x.path, "--lengths", lengths.path]
        case .texts(let texts):
            let file = dir.appendingPathComponent("texts.txt")
            try Data(texts.map { $0 + "\n" }.joined().utf8).write(to: file)
            arguments += ["--texts", file.path]
        }
        let result = try runProcess(URL(fileURLWithPath: PythonReferenceTests.python!), arguments)
        guard result.status == 0,
              let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let outputs = (json["logits"] ?? json["outputs"]) as? [[Double]] else {
            throw PythonReferenceTests.PythonFailure(message: "rnnm.py forward --evaluation \(evaluation) failed (\(result.status)): \(result.stderr)")
        }
        let margins = json["margins"] as? [Double] ?? []
        #expect(outputs.count == count)
        #expect(margins.count == (evaluation == "int8" ? count : 0))
        return Reference(outputs: outputs, margins: margins)
    }

    /// Per input: max over its outputs of `|a - ref| / max(1, |ref|)` (FastPathTests.compare's scaling, per input).
    static func scaledDiffs(_ result: BatchResult, _ reference: [[Double]]) -> [Double] {
        reference.enumerated().map { n, row in
            row.enumerated().map { c, value in
                abs(Double(result.logits[n * result.classCount + c]) - value) / max(1, abs(value))
            }.max() ?? 0
        }
    }

    static func scaledDiffs(_ a: [[Double]], _ b: [[Double]]) -> [Double] {
        zip(a, b).map { ra, rb in zip(ra, rb).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0 }
    }

    /// Every implementation this CPU runs: the portable path and each fused variant (each with its tier's
    /// int8 products), with 1 and 2 threads.
    static var variants: [(String, ClassifyOptions)] {
        var kernels: [(String, StepKernel)] = [("portable", .portable)]
        for variant in FusedKernel.supported where variant != .none { kernels.append(("fused \(variant)", .fused(variant))) }
        return kernels.flatMap { name, kernel in
            [1, 2].map { threads in ("\(name) x\(threads)", ClassifyOptions(threads: threads, blockSize: 8, kernel: kernel)) }
        }
    }

    // MARK: Tests

    @Test(arguments: cases)
    func runtimeAgreesWithTheReferenceInt8Evaluation(_ testCase: Case) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (file, url) = try Self.model(testCase, in: dir)
        let qualifying = Self.qualifyingLayers(file)
        let model = try Model(file, options: LoadOptions(evaluation: Self.runtimeEvaluation))
        #expect(model.int8LayerCount == qualifying, "int8 layers")
        #expect(try Model(file).int8LayerCount == qualifying, "the default load runs the int8 evaluation")

        let count = testCase.count
        let inputs = Self.inputs(for: file, model: model, count: count, seed: UInt64(testCase.name.utf8.count) &* 7919 &+ 3)
        let int8 = try Self.reference(url, inputs, evaluation: "int8", count: count)
        let float = try Self.reference(url, inputs, evaluation: "float", count: count)
        let nearBoundary = int8.margins.filter { $0 < Self.excuseMargin }.count
        let referenceGap = Self.scaledDiffs(int8.outputs, float.outputs).max() ?? 0
        if qualifying == 0 {
            // No recurrent layer takes §6.6: both evaluations are the same computation.
            #expect(int8.outputs == float.outputs)
            #expect(int8.margins.allSatisfy { $0 == 0.5 })
        } else {
            // The comparison can tell the evaluations apart: the float one is beyond tolerance somewhere.
            #expect(referenceGap > FastPathTests.tolerance, "rnnm.py int8 vs float: \(referenceGap)")
        }

        var lines: [String] = []
        for (name, options) in Self.variants {
            let result = try Self.classify(model, inputs, options: options)
            #expect(result.count == count && result.rowStarts == nil)
            let diffs = Self.scaledDiffs(result, int8.outputs)
            var worst = 0.0, worstMargin = 0.5, worstExcused = 0.0, excused = 0
            for (n, diff) in diffs.enumerated() {
                let isExcused = int8.margins[n] < Self.excuseMargin
                if diff < FastPathTests.tolerance {
                    if diff > worst { (worst, worstMargin) = (diff, int8.margins[n]) }
                    let row = int8.outputs[n], best = row.indices.max { row[$0] < row[$1] }!
                    if result.predictions[n] != best && !isExcused {
                        #expect(row[best] - row[result.predictions[n]] < FastPathTests.tolerance * max(1, abs(row[best])),
                                "\(name), input \(n): argmax \(result.predictions[n]) vs \(best)")
                    }
                } else if isExcused {
                    excused += 1
                    worstExcused = max(worstExcused, diff)
                } else {
                    if diff > worst { (worst, worstMargin) = (diff, int8.margins[n]) }
                    Issue.record("\(testCase.name), \(name), input \(n): scaled |diff| \(diff), margin \(int8.margins[n])")
                }
            }
            #expect(Double(excused) <= Self.excusedShareLimit * Double(count), "\(name): \(excused) of \(count) inputs excused")
            if qualifying > 0 {
                let floatGap = Self.scaledDiffs(result, float.outputs).max() ?? 0
                #expect(floatGap > FastPathTests.tolerance, "\(name): the runtime's logits are rnnm.py's float evaluation's (\(floatGap))")
            }
            lines.append("\(name): max \(String(format: "%.2e", worst)) (margin \(String(format: "%.1e", worstMargin))), excused \(excused)"
                         + (excused > 0 ? " (up to \(String(format: "%.2e", worstExcused)))" : ""))
        }
        print("int8 runtime vs rnnm.py --evaluation int8, \(testCase.name): \(count) inputs, \(qualifying) int8 layers, "
              + "\(nearBoundary) with margin < 1e-3, rnnm.py int8 vs float \(String(format: "%.2e", referenceGap)); "
              + lines.joined(separator: "; "))
    }

    /// Layers §6.6 does not cover run in float in both implementations: rnnm.py's int8 evaluation of a
    /// file without a qualifying layer is its float evaluation, and `int8LayerCount` counts only the
    /// qualifying layers.
    @Test func layersThatDoNotQualifyStayFloat() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Reset-before GRUs (a bidirectional one, then a forward one), all weights int8.
        let before = randomModel(height: 8, width: 7, layers: [
            .gru(hidden: 10, returns: .sequence, reset: .before, bidirectional: true),
            .gru(hidden: 9, returns: .last, reset: .before), .dense(out: 4, activation: .none),
        ], seed: 71, dtype: .int8)
        // An LSTM whose w_hh is stored as f32 (its dequantized values), then a qualifying LSTM.
        var mixed = randomModel(height: 8, width: 7, layers: [
            .lstm(hidden: 8, returns: .sequence), .lstm(hidden: 6, returns: .last), .dense(out: 3, activation: .none),
        ], seed: 72, dtype: .int8)
        let index = mixed.tensors.firstIndex { $0.name == "lstm0.w_hh" }!
        if case .int8(let values, let scales) = mixed.tensors[index].storage {
            let perRow = values.count / scales.count
            mixed.tensors[index].storage = .f32(values.enumerated().map { Float($0.element) * scales[$0.offset / perRow] })
        }
        // A reset-before GRU, then a qualifying LSTM.
        let beforeThenLSTM = randomModel(height: 8, width: 7, layers: [
            .gru(hidden: 10, returns: .sequence, reset: .before), .lstm(hidden: 7, returns: .last), .dense(out: 3, activation: .none),
        ], seed: 73, dtype: .int8)

        for (n, (name, file, expected)) in [("reset-before GRUs", before, 0), ("LSTM with f32 w_hh + LSTM", mixed, 1),
                                             ("reset-before GRU + LSTM", beforeThenLSTM, 1)].enumerated() {
            #expect(Self.qualifyingLayers(file) == expected, "\(name)")
            let model = try Model(file)
            #expect(model.int8LayerCount == expected, "\(name)")
            let url = try writeModel(file, to: dir, name: "model\(n).rnnm")
            let inputs = Self.inputs(for: file, model: model, count: 23, seed: UInt64(80 + n))
            let int8 = try Self.reference(url, inputs, evaluation: "int8", count: 23)
            let float = try Self.reference(url, inputs, evaluation: "float", count: 23)
            let result = try Self.classify(model, inputs, options: ClassifyOptions(threads: 2, blockSize: 8))
            let diffs = Self.scaledDiffs(result, int8.outputs)
            if expected == 0 {
                #expect(int8.outputs == float.outputs, "\(name)")
                #expect(int8.margins.allSatisfy { $0 == 0.5 }, "\(name)")
                let asFloat = try Self.classify(try Model(file, options: LoadOptions(evaluation: .float)), inputs,
                                                options: ClassifyOptions(threads: 2, blockSize: 8))
                #expect(result.logits.map(\.bitPattern) == asFloat.logits.map(\.bitPattern), "\(name): runs as the float evaluation")
                #expect(diffs.allSatisfy { $0 < FastPathTests.tolerance }, "\(name): \(diffs.max()!)")
            } else {
                #expect(int8.outputs != float.outputs, "\(name)")
                let failing = diffs.indices.filter { diffs[$0] >= FastPathTests.tolerance }
                #expect(failing.allSatisfy { int8.margins[$0] < Self.excuseMargin }, "\(name): \(failing.map { diffs[$0] })")
                #expect(Double(failing.count) <= Self.excusedShareLimit * 23, "\(name)")
            }
            print("int8 non-qualifying layers, \(name): int8LayerCount \(model.int8LayerCount), max scaled |diff| vs rnnm.py int8 "
                  + "\(String(format: "%.2e", diffs.max()!)), rnnm.py int8 vs float \(String(format: "%.2e", Self.scaledDiffs(int8.outputs, float.outputs).max()!))")
        }
    }
}
