import RNNDatasets
import RNNFormat
import RNNTraining

/// Writes every file of `fixtures/golden` (spec/GOLDEN.md lists them) into a directory.
struct GoldenFixtures {
    /// Where the files go (created if missing).
    var directory: String
    /// The MNIST directory for the course-size model.
    var mnistDirectory: String

    /// The tolerance stated in the manifest; spec/GOLDEN.md derives it, the tests apply it.
    static let toleranceText = #"{"f32":{"absolute":1e-4,"relative":1e-4},"f16":"as f32","bf16":"as f32","int8":"as f32"}"#

    /// Generates everything and returns the names of the files written, in order.
    func generate(log: (String) -> Void) throws(GoldenError) -> [String] {
        var writer = FixtureWriter(directory: directory)
        func write(_ bytes: [UInt8], _ name: String) throws(GoldenError) { try writer.write(bytes, name) }
        func encode(_ model: ModelFile) throws(GoldenError) -> [UInt8] {
            do { return try ModelWriter.encode(model) } catch { throw .training("export: \(error)") }
        }

        // Inputs.
        let batches: [(name: String, images: [GoldenImage])] = [
            ("inputs-37.idx3", GoldenInputs.batch37()), ("inputs-1.idx3", GoldenInputs.batch1()),
        ]
        for batch in batches {
            let side = DigitPainter.side
            do {
                let set = try ImageSet(count: batch.images.count, height: side, width: side,
                                       pixels: batch.images.flatMap(\.pixels))
                try IDX.writeImages(set, to: "\(directory)/\(batch.name)")
            } catch {
                throw .io(path: "\(directory)/\(batch.name)", reason: error.description)
            }
            writer.written.append(batch.name)
        }

        // Models.
        log("training tiny-h8 ...")
        let tiny: GoldenModel
        do { tiny = try GoldenTraining.tiny() } catch { throw .training(error.description) }
        log("training course-h128 on MNIST (\(mnistDirectory)) ...")
        let course = try GoldenTraining.course(mnistDirectory: mnistDirectory)

        var models: [(file: String, dtype: DType, model: ModelFile, summary: String)] = [
            ("tiny-h8.rnnm", .f32, tiny.model, tiny.summary),
        ]
        for dtype in [DType.f16, .bf16, .int8] {
            do {
                models.append(("tiny-h8-\(dtype).rnnm", dtype, try GoldenTraining.quantized(tiny.model, to: dtype),
                               "tiny-h8 with every tensor quantized to \(dtype) (spec §4.1)"))
            } catch {
                throw .training("quantizing to \(dtype): \(error)")
            }
        }
        models.append(("course-h128.rnnm", .f32, course.model, course.summary))
        for m in models { try write(encode(m.model), m.file) }
        let checkpointBytes: [UInt8]
        do { checkpointBytes = try tiny.checkpoint.encoded() } catch { throw .training(error.description) }
        try write(checkpointBytes, "tiny-h8.ckpt")

        // Expected values: every model on the 37-image batch, the f32 models on the batch of one too.
        var cases: [(model: String, images: String, expected: String)] = []
        for m in models {
            for batch in batches where batch.images.count > 1 || m.dtype == .f32 {
                let count = batch.images.count
                let logits: [Double]
                do { logits = try forward64(model: m.model, images: batch.images.flatMap(\.pixels), count: count) } catch {
                    throw .training("forward64 of \(m.file): \(error)")
                }
                let expected = ExpectedValues(modelFile: m.file, imagesFile: batch.name, count: count,
                                              classes: m.model.metadata.labels.count, logits: logits)
                let name = "\(m.file.dropLast(5)).\(batch.name.dropLast(5)).json"
                try write(Array(expected.json.utf8), name)
                cases.append((m.file, batch.name, name))
            }
        }

        // Manifest.
        func quoted(_ s: String) -> String { "\"\(s)\"" }
        let modelLines = models.map { m in
            #"  {"file":"\#(m.file)","dtype":"\#(m.dtype)","hidden_size":\#(hiddenSize(m.model)),"training":"\#(m.summary)"\#(m.file == "tiny-h8.rnnm" ? #","checkpoint":"tiny-h8.ckpt""# : "")}"#
        }
        let inputLines = batches.map { b in
            #"  {"file":"\#(b.name)","count":\#(b.images.count),"kinds":[\#(b.images.map { quoted($0.kind) }.joined(separator: ","))]}"#
        }
        let caseLines = cases.map { #"  {"model":"\#($0.model)","images":"\#($0.images)","expected":"\#($0.expected)"}"# }
        let manifest = manifestText(generator: "swift run rnn-golden fixtures/golden (OPENBLAS_CORETYPE=\(pinnedCoreType))",
                                    tolerance: Self.toleranceText, models: modelLines, inputs: inputLines, cases: caseLines)
        try write(Array(manifest.utf8), "manifest.json")
        return writer.written
    }

    private func hiddenSize(_ model: ModelFile) -> Int {
        for case .lstm(let l) in model.metadata.layers { return l.hiddenSize }
        return 0
    }
}

/// A golden set's `manifest.json` (spec/GOLDEN.md): one member per line, the model, input and case
/// entries one per line in their lists.
func manifestText(generator: String, tolerance: String, models: [String], inputs: [String], cases: [String]) -> String {
    """
    {"generator":"\(generator)",
    "tolerance":\(tolerance),
    "models":[
    \(models.joined(separator: ",\n"))
    ],
    "inputs":[
    \(inputs.joined(separator: ",\n"))
    ],
    "cases":[
    \(cases.joined(separator: ",\n"))
    ]}

    """
}

/// Writes fixture files into one directory, atomically, and remembers their names in order.
struct FixtureWriter {
    var directory: String
    /// The names written so far, relative to ``directory``.
    var written: [String] = []

    mutating func write(_ bytes: [UInt8], _ name: String) throws(GoldenError) {
        do { try writeFileAtomically(bytes, to: "\(directory)/\(name)") } catch {
            throw .io(path: "\(directory)/\(name)", reason: error.description)
        }
        written.append(name)
    }
}
