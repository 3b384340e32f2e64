import ArgumentParser
import CommandLineSupport
import RNNFormat

/// `rnn-infer convert IN OUT --weights DTYPE`: the same model with its weights stored in another dtype.
///
/// It lives in `rnn-infer` next to `inspect` and `verify` because it works on finished `.rnnm`
/// files (any producer's), needs no checkpoint or training data, and checks its output with the
/// same runtime that will load it; `rnn-train export --weights` covers checkpoints.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite a model file with its weight matrices stored as f32, f16, bf16 or int8.",
        discussion: """
        Tensors of rank >= 2 (the weight matrices of every layer) are stored in the chosen dtype; \
        rank-1 tensors (biases) are stored as f32. int8 is symmetric per output row with one f32 \
        scale per row (spec/FORMAT.md §4.1). Metadata, including the provenance metrics of the model \
        the file was made from, is copied unchanged. The output is read back with every format check \
        before this command succeeds.

        Example: rnn-infer convert models/mnist-lstm.rnnm models/mnist-lstm-int8.rnnm --weights int8
        """)

    @Argument(help: ArgumentHelp("The .rnnm file to read.", valueName: "in"))
    var input: String

    @Argument(help: ArgumentHelp("The .rnnm file to write (replaced atomically).", valueName: "out"))
    var output: String

    @Option(help: "Dtype of the weight matrices: f32, f16, bf16 or int8.")
    var weights: WeightsDType

    @Flag(help: "Store every section uncompressed (codec none: memory-mappable), instead of zstd.")
    var uncompressed = false

    func run() throws {
        let source: ModelFile
        let inputBytes = ConversionReport.fileSize(input)  // before `convert X X` replaces it
        do {
            source = try ModelReader.read(contentsOf: input)
        } catch {
            throw Failure(status: .model, message: "cannot load model '\(input)': \(error)")
        }
        let converted: ModelFile
        do {
            converted = try source.converted(to: weights.dtype)
        } catch {
            throw Failure(status: .model, message: "cannot store the weights of '\(input)' as \(weights.rawValue): \(error)")
        }
        do {
            try ModelWriter.write(converted, to: output, options: uncompressed ? .uncompressed : WriteOptions())
        } catch {
            throw Failure(status: .output, message: "cannot write '\(output)': \(error)")
        }
        // Read the file back with every check of spec §7: what we wrote must be what loads. (The
        // format reader, not `Model`: text models, which `Model` does not run, convert as well.)
        let written: ModelFile
        do {
            written = try ModelReader.read(contentsOf: output)
        } catch {
            throw Failure(status: .internalError, message: "the converted file '\(output)' does not load: \(error)")
        }
        guard written == converted else {
            throw Failure(status: .internalError, message: "the converted file '\(output)' reads back different tensors")
        }
        log("rnn-infer: wrote \(output): " + ConversionReport(source: source, converted: converted, inputBytes: inputBytes,
                                                              outputBytes: ConversionReport.fileSize(output)).line)
    }
}
