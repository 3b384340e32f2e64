import Foundation
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing

/// The format-1.2 golden files (fixtures/golden/v1.2, spec/GOLDEN.md "Format 1.2"): PyTorch-initialized
/// gru / lstm / bidirectional / stacked / per-step / regression models, their float64 outputs from
/// spec/reference/rnnm.py, and the implementations that must reproduce them.
@Suite struct V12GoldenTests {
    static let stems = ["gru-after", "gru-before", "bilstm", "bigru", "stacked", "per-step", "regression", "image-gru",
                        "gru-after-int8", "bilstm-f16"]

    @Test func manifestListsEveryFileAndEveryCaseIsConsistent() throws {
        let manifest = try V12Manifest.load()
        #expect(manifest.models.map(\.file) == Self.stems.map { "\($0).rnnm" })
        #expect(manifest.cases.map(\.model) == manifest.models.map(\.file))
        #expect(Set(manifest.models.map(\.dtype)) == ["f32", "int8", "f16"])
        #expect(manifest.tolerance["binary32"] == .init(absolute: Tolerance.binary32FormatV12.absolute,
                                                        relative: Tolerance.binary32FormatV12.relative))
        #expect(manifest.tolerance["binary64"] == .init(absolute: Tolerance.binary64.absolute, relative: Tolerance.binary64.relative))
        // Every file of the directory is named by the manifest, and every name exists.
        expectManifestNamesEveryFile(manifest, in: v12Directory)
        // What the set covers (spec §6.1, §6.2.2, §6.5).
        #expect(manifest.models.contains { $0.outputs_per_step && $0.output == "logits" })
        #expect(manifest.models.contains { $0.output == "values" })
    }

    @Test(arguments: V12Manifest.casesOrEmpty)
    func everyModelIsA1Point2FileAndItsExpectedValuesFitItsInputs(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c)
        let bytes = Array(try Data(contentsOf: v12Directory.appendingPathComponent(c.model)))
        #expect(bytes[14] == 2 && bytes[15] == 0, "\(c.model): min_reader_minor 2")
        let e = golden.expected
        #expect(e.model == c.model)
        #expect(e.classes == golden.file.metadata.labels.count)
        #expect(e.logits == (golden.file.metadata.output == .logits))
        #expect(e.perStep == golden.file.metadata.outputsPerStep)
        let count = golden.sequences.isEmpty ? golden.pixels.count / (28 * 28) : golden.sequences.count
        #expect(e.count == count && e.outputs.count == count)
        if !golden.sequences.isEmpty {
            let width = golden.file.metadata.input.width
            #expect(e.lengths == golden.sequences.map { $0.count / width })
            #expect(e.lengths.contains(1) && e.lengths.contains(golden.file.metadata.input.features!.maxLength))
        }
        for (b, steps) in e.outputs.enumerated() {
            #expect(steps.count == (e.perStep ? e.lengths[b] : 1), "sequence \(b)")
            #expect(steps.allSatisfy { $0.count == e.classes }, "sequence \(b)")
        }
        if e.logits {
            #expect(e.predictions.map(\.count) == e.outputs.map(\.count) && e.margins.map(\.count) == e.outputs.map(\.count))
            for (b, steps) in e.outputs.enumerated() {
                for (t, row) in steps.enumerated() {
                    let sorted = row.sorted(by: >)
                    #expect(e.predictions[b][t] == row.firstIndex(of: sorted[0]), "sequence \(b) step \(t)")
                    #expect(e.margins[b][t] == sorted[0] - sorted[1], "sequence \(b) step \(t)")
                }
            }
        } else {
            #expect(e.predictions.isEmpty && e.margins.isEmpty)
        }
    }

    @Test(arguments: V12Manifest.casesOrEmpty)
    func pythonReferenceReaderMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c)
        let actual = try pythonReferenceOutputs(c, golden, in: v12Directory)
        var difference = LogitDifference()
        let problems = compare(actual, golden.expected, tolerance: .binary64, into: &difference, label: "python \(c)")
        print("[golden v1.2] python \(c): \(difference)")
        #expect(problems.isEmpty, "\(problems)")
        #expect(difference.passes, "python \(c): \(difference)")
    }

    @Test(arguments: V12Manifest.casesOrEmpty)
    func swiftReferenceModelMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c)
        let reference = ReferenceModel(golden.file)
        // One output vector per sequence ([y]) or one per step, as the expected files hold them.
        let actual: [[[Double]]] = golden.sequences.isEmpty
            ? try reference.logits(pixels: golden.pixels).map { [$0] }
            : try reference.outputs(sequences: golden.sequences)
        var difference = LogitDifference()
        let problems = compare(actual, golden.expected, tolerance: .binary64, into: &difference, label: "ReferenceModel \(c)")
        print("[golden v1.2] ReferenceModel \(c): \(difference)")
        #expect(problems.isEmpty, "\(problems)")
        #expect(difference.passes, "ReferenceModel \(c): \(difference)")
    }

    /// Regenerates the set with PyTorch and compares byte for byte. Needs a Python with torch: the
    /// interpreter named by RNN_GOLDEN_PYTHON, or bench/.venv/bin/python (bench/README.md).
    @Test(.enabled(if: torchPython != nil, "needs a Python with torch: set RNN_GOLDEN_PYTHON or create bench/.venv"),
          .timeLimit(.minutes(5)))
    func regeneratingTheSetWithPyTorchReproducesEveryFile() throws {
        let script = repositoryRoot.appendingPathComponent("spec/reference/make_golden_v12.py").path
        let (status, out, err) = try runProcess(try #require(torchPython), [script, "--check", v12Directory.path])
        #expect(status == 0, "make_golden_v12.py --check: \(out)\(err)")
    }

    /// `[sequence][step][k]` from the reader's JSON: a list of K numbers per sequence (last-state
    /// models), or a list of T_i such lists (per-step models).
    static func nested(_ value: Any, perStep: Bool) throws -> [[[Double]]] {
        func numbers(_ v: Any) throws -> [Double] {
            guard let list = v as? [Any] else { throw NPYError("expected a list of numbers, found \(type(of: v))") }
            return try list.map {
                guard let n = $0 as? NSNumber else { throw NPYError("expected a number, found \($0)") }
                return n.doubleValue
            }
        }
        guard let sequences = value as? [Any] else { throw NPYError("expected a list of sequences") }
        return try sequences.map { s in
            guard perStep else { return [try numbers(s)] }
            guard let steps = s as? [Any] else { throw NPYError("expected a list of steps") }
            return try steps.map(numbers)
        }
    }
}

/// A Python interpreter with torch, if this machine has one for the test above.
let torchPython: String? = {
    if let named = ProcessInfo.processInfo.environment["RNN_GOLDEN_PYTHON"], !named.isEmpty { return named }
    let venv = repositoryRoot.appendingPathComponent("bench/.venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}()

// MARK: - The runtime

/// The binary32 runtime against the 1.2 golden values, on every kernel variant, thread count and block
/// size that must not change its results beyond the tolerance.
///
extension V12GoldenTests {
    static let runtimeVariants: [(String, ClassifyOptions)] = [StepKernel.portable, .automatic].flatMap { kernel in
        [(1, 1), (1, 8), (2, 1), (2, 8)].map { threads, block in
            ("\(kernel == .portable ? "portable" : "automatic"), \(threads) thread\(threads == 1 ? "" : "s"), block \(block)",
             ClassifyOptions(threads: threads, blockSize: block, kernel: kernel))
        }
    }

    @Test(arguments: V12Manifest.casesOrEmpty)
    func runtimeMatchesTheExpectedValuesWithinTheBinary32Tolerance(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c)
        let tolerance = Tolerance.binary32FormatV12
        let model = try Model(golden.file, options: LoadOptions(evaluation: .float))  // the float evaluation's golden values
        for (name, options) in Self.runtimeVariants {
            let actual: [[[Double]]]
            if golden.sequences.isEmpty {
                let result = try model.classify(pixels: golden.pixels, options: options)
                actual = (0..<result.count).map { b in
                    [(0..<result.classCount).map { Double(result.logits[b * result.classCount + $0]) }]
                }
            } else {
                let result = try model.classify(sequences: golden.sequences, options: options)
                actual = (0..<golden.sequences.count).map { b in result.outputs(of: b).map { $0.map(Double.init) } }
            }
            var difference = LogitDifference()
            let problems = compare(actual, golden.expected, tolerance: tolerance, into: &difference, label: "runtime \(c) [\(name)]")
            print("[golden v1.2] runtime \(c) [\(name)]: \(difference)")
            #expect(problems.isEmpty, "\(problems)")
            #expect(difference.passes, "runtime \(c) [\(name)]: \(difference)")
            // Predictions: identical except at a tie within the tolerance (spec/GOLDEN.md, "What to compare").
            guard golden.expected.logits, problems.isEmpty else { continue }
            for (b, steps) in actual.enumerated() {
                for (t, row) in steps.enumerated() {
                    let predicted = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
                    let want = golden.expected.predictions[b][t]
                    if predicted != want {
                        let top = golden.expected.outputs[b][t].max()!
                        #expect(golden.expected.margins[b][t] <= 2 * tolerance.bound(top),
                                "runtime \(c) [\(name)] sequence \(b) step \(t): class \(predicted), golden \(want)")
                    }
                }
            }
        }
    }
}

