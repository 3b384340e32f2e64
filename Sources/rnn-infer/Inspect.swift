import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNSupport

/// `rnn-infer inspect FILE`: versions, sections, layers, tensors, labels and provenance.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model file: versions, sections, sizes, checksum, layers, tensors, labels, provenance.")

    @Argument(help: ArgumentHelp("The .rnnm file.", valueName: "file"))
    var file: String

    func run() throws {
        let summary: ModelSummary
        do {
            summary = try ModelReader.inspect(contentsOf: file, sha256: SHA256.hex)
        } catch {
            throw Failure(status: .model, message: "cannot load model '\(file)': \(error)")
        }
        let output = OutputStream.standardOutput()
        try output.write("model         \(file)\n")
        try output.write(summary.description + "\n")
        // What the runtime does with it (folding, §6.1).
        if summary.metadata.input.kind == .tokens {
            try output.write(try textRuntimeLine(file))
            if let model = try? Model(contentsOf: file) { try output.write(int8Line(model)) }
        } else {
            do {
                let (model, seconds) = try measured { () throws(RuntimeError) -> Model in try Model(contentsOf: file) }
                try output.write("runtime       loads in \(fixed(seconds * 1000, 1)) ms; \(model.foldedLayerCount) dense layer(s) folded into LSTM input weights\n")
                try output.write(int8Line(model))
            } catch {
                throw Failure.model(error)
            }
        }
        try output.finish()
    }
}

/// `rnn-infer verify FILE`: exit status 0 when the file is valid and runnable, 2 otherwise; no output.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a model file completely (checksum, structure, values) and that it can run; exit status only.")

    @Argument(help: ArgumentHelp("The .rnnm file.", valueName: "file"))
    var file: String

    @Flag(name: .shortAndLong, help: "Print why the file is refused.")
    var verbose = false

    func run() throws {
        do {
            try loadRunnable(file)
        } catch {
            if verbose { throw Failure.model(error) }
            throw Failure(status: .model, message: "")
        }
    }
}


/// The `evaluation` line of `rnn-infer inspect`: which recurrent layers run the int8 evaluation (spec §6.6).
func int8Line(_ model: Model) -> String {
    let count = model.int8LayerCount
    if count == 0 { return "evaluation    float (no recurrent layer runs the int8 evaluation)\n" }
    return "evaluation    int8 (spec §6.6) for \(count) recurrent layer(s), \(Model.int8Kernel.rawValue) products; "
        + "--evaluation float dequantizes instead\n"
}
