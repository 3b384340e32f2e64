import Foundation
import RNNCore
import RNNFormat
import RNNRuntime
import Testing

/// `rnn-infer sequences` (.npy and UEA .ts input, --lengths, --every-step, labels, values models)
/// and `rnn-infer stream` (one step per line), checked against the library on the same model.
@Suite(.enabled(if: rnnInferExecutable != nil, "rnn-infer not built"))
struct SequenceCLITests {
    let dir: URL

    init() throws { dir = try temporaryDirectory() }

    func infer(_ arguments: [String], stdin: Data? = nil) throws -> ProcessResult {
        try runProcess(rnnInferExecutable!, arguments, stdin: stdin)
    }

    /// A `.npy` version 1.0 file, little-endian, C order.
    func npy(_ descr: String, shape: [Int], bytes: [UInt8], fortran: Bool = false) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8) + bytes
        return Data(out)
    }

    func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    func int64Bytes(_ values: [Int]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) } }

    @Test func npyWithLengthsMatchesTheLibraryAndEveryStepListsEachStep() throws {
        let file = randomModel(height: 0, width: 0, layers: [.gru(hidden: 12, returns: .sequence), .dense(out: 3, activation: .none)],
                               seed: 31, features: FeatureInputSpec(width: 4, maxLength: 6))
        let model = try writeModel(file, to: dir)
        var rng = SplitMix64(seed: 32)
        let values = (0..<(3 * 6 * 4)).map { _ in rng.uniform(2) }
        let lengths = [6, 2, 5]
        let x = dir.appendingPathComponent("x.npy"), l = dir.appendingPathComponent("l.npy")
        try npy("<f4", shape: [3, 6, 4], bytes: floatBytes(values)).write(to: x)
        try npy("<i8", shape: [3], bytes: int64Bytes(lengths)).write(to: l)

        let result = try infer(["sequences", "--model", model.path, x.path, "--lengths", l.path, "--every-step", "--format", "ndjson"])
        #expect(result.status == 0, "\(result.stderr)")
        let records = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(records.count == 13)
        let library = try Model(file).classify(sequences: (0..<3).map { i in Array(values[(i * 24)..<(i * 24 + lengths[i] * 4)]) })
        var r = 0
        for i in 0..<3 {
            for step in 0..<lengths[i] {
                #expect(records[r]["index"] as? Int == i && records[r]["step"] as? Int == step)
                #expect(records[r]["class"] as? Int == library.predictions[library.rows(of: i).lowerBound + step])
                r += 1
            }
        }
        // Without --every-step: the last step of each sequence.
        let last = try infer(["sequences", "--model", model.path, x.path, "--lengths", l.path, "--format", "csv"])
        #expect(last.stdout.split(separator: "\r\n").count == 4)
    }

    @Test func aUEAFileIsClassifiedAndEvaluatedAgainstItsLabels() throws {
        let path = "../shared/datasets/uea/JapaneseVowels_TEST.ts"
        guard FileManager.default.fileExists(atPath: path) else { return }
        var file = randomModel(height: 0, width: 0, layers: [.lstm(hidden: 8, returns: .last, bidirectional: true), .dense(out: 9, activation: .none)],
                               seed: 33, features: FeatureInputSpec(width: 12, maxLength: 29))
        file.metadata.labels = (1...9).map(String.init)
        let model = try writeModel(file, to: dir)
        let result = try infer(["sequences", "--model", model.path, path, "--format", "csv"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\r\n").count == 371)   // header + 370 utterances
        #expect(result.stderr.contains("accuracy:") && result.stderr.contains("of 370 correct"), "\(result.stderr)")

        // A model whose labels are not the file's: exit status 4, naming the label.
        file.metadata.labels = (1...9).map { "speaker \($0)" }
        let other = try writeModel(file, to: dir, name: "other.rnnm")
        let refused = try infer(["sequences", "--model", other.path, path])
        #expect(refused.status == 4 && refused.stderr.contains("label '1'"), "\(refused.stderr)")
    }

    @Test func badSequenceInputGetsOneLineErrors() throws {
        let file = randomModel(height: 0, width: 0, layers: [.gru(hidden: 8, returns: .last), .dense(out: 2, activation: .none)],
                               seed: 34, features: FeatureInputSpec(width: 3, maxLength: 4))
        let model = try writeModel(file, to: dir)
        let cases: [(String, Data, String)] = [
            ("fortran.npy", npy("<f4", shape: [1, 2, 3], bytes: floatBytes([Float](repeating: 0, count: 6)), fortran: true), "Fortran"),
            ("wrongf.npy", npy("<f4", shape: [1, 2, 5], bytes: floatBytes([Float](repeating: 0, count: 10))), "expected 3 features"),
            ("toolong.npy", npy("<f4", shape: [1, 5, 3], bytes: floatBytes([Float](repeating: 0, count: 15))), "expected 1...4 steps"),
            ("nan.npy", npy("<f4", shape: [1, 1, 3], bytes: floatBytes([0, .nan, 0])), "feature 1"),
            ("ints.npy", npy("<i4", shape: [1, 1, 3], bytes: [UInt8](repeating: 0, count: 12)), "float"),
            ("short.npy", npy("<f4", shape: [2, 2, 3], bytes: floatBytes([Float](repeating: 0, count: 6))), "truncated"),
        ]
        for (name, data, fragment) in cases {
            let url = dir.appendingPathComponent(name)
            try data.write(to: url)
            let result = try infer(["sequences", "--model", model.path, url.path])
            #expect(result.status == 3, "\(name): \(result.stderr)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(fragment), "\(name): \(result.stderr)")
        }
        let ragged = dir.appendingPathComponent("ragged.ts")
        try Data("@problemName x\n@dimensions 3\n@classLabel true a b\n@data\n1,2:3,4:5\ta\n".utf8).write(to: ragged)
        let result = try infer(["sequences", "--model", model.path, ragged.path])
        #expect(result.status == 3 && result.errorLines.count == 1, "\(result.stderr)")
        // A length of 0 from --lengths.
        let x = dir.appendingPathComponent("x.npy"), l = dir.appendingPathComponent("zero.npy")
        try npy("<f4", shape: [1, 2, 3], bytes: floatBytes([Float](repeating: 0, count: 6))).write(to: x)
        try npy("<i4", shape: [1], bytes: [0, 0, 0, 0]).write(to: l)
        let zero = try infer(["sequences", "--model", model.path, x.path, "--lengths", l.path])
        #expect(zero.status == 3 && zero.errorLines.first?.contains("found 0") == true, "\(zero.stderr)")
    }

    @Test func streamAnswersEveryStepAsClassifyingThePrefixWould() throws {
        let file = randomModel(height: 0, width: 0, layers: [.lstm(hidden: 10, returns: .last), .dense(out: 3, activation: .none)],
                               seed: 35, features: FeatureInputSpec(width: 2, maxLength: 3))
        let model = try writeModel(file, to: dir)
        let steps: [[Float]] = [[0.5, -1], [2, 0.25], [1, 1], [-3, 0.5], [0, 0]]   // 5 steps: past max_length 3
        let input = steps.map { "[\($0[0]), \($0[1])]" }.joined(separator: "\n") + "\n\nreset\n[0.5, -1]\n"
        let result = try infer(["stream", "--model", model.path, "--outputs"], stdin: Data(input.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let records = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(records.count == 6)
        let stream = try Model(file).makeStream()
        for (t, step) in steps.enumerated() {
            let expected = try stream.step(step)
            let logits = (records[t]["logits"] as! [Double]).map(Float.init)
            #expect(records[t]["step"] as? Int == t)
            #expect(logits == expected, "step \(t)")
        }
        // After `reset`, step 0 again with the first step's output.
        #expect(records[5]["step"] as? Int == 0 && (records[5]["logits"] as! [Double]) == (records[0]["logits"] as! [Double]))

        let bad = try infer(["stream", "--model", model.path], stdin: Data("[1, 2]\n[1, 2, 3]\n".utf8))
        #expect(bad.status == 3 && bad.errorLines.first?.contains("line 2") == true, "\(bad.stderr)")
        #expect(bad.stdout.split(separator: "\n").count == 1)   // the good step was answered before the error
    }
}
