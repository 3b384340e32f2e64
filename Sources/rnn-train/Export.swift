import ArgumentParser
import RNNFormat
import RNNTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's weights as an .rnnm model.",
        discussion: "Example: rnn-train export models/mnist-lstm.ckpt --output models/mnist-lstm-int8.rnnm --weights int8")

    @Argument(help: "Checkpoint written by rnn-train.") var checkpoint: String
    @Option(help: "Model file to write.") var output: String
    @Option(help: WeightsDType.help) var weights: WeightsDType = .f32
    @Flag(help: reproducibleHelp) var reproducible = false

    func run() throws {
        let time = try provenanceTime(reproducible: reproducible)
        let c: Checkpoint
        do { c = try Checkpoint.read(from: checkpoint) } catch { throw fail(error.description, ExitStatus.input) }
        do { try probeWritableDirectory(for: output) } catch { throw fail(error.description, ExitStatus.cannotCreate) }
        let model = try storing(c.modelFile(time: time), as: weights)
        do { try ModelWriter.write(model, to: output) } catch { throw fail("\(output): \(error)", ExitStatus.io) }
        printError("rnn-train: wrote \(output) (\(weights.rawValue) weights, epoch \(c.state.history.count), step \(c.state.globalStep))")
    }
}
