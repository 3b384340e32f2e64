import ArgumentParser
import RNNFormat
import RNNTraining

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's weights (image, text, feature-sequence or convolutional run) as an .rnnm model.",
        discussion: "Example: rnn-train export models/mnist-lstm.ckpt --output models/mnist-lstm-int8.rnnm --weights int8")

    @Argument(help: "Checkpoint written by rnn-train.") var checkpoint: String
    @Option(help: "Model file to write.") var output: String
    @Option(help: WeightsDType.help) var weights: WeightsDType = .f32
    @Flag(help: reproducibleHelp) var reproducible = false

    func run() throws {
        let time = try provenanceTime(reproducible: reproducible)
        let read: AnyCheckpoint
        do { read = try AnyCheckpoint.read(from: checkpoint) } catch { throw fail(error.description, ExitStatus.input) }
        do { try probeWritableDirectory(for: output) } catch { throw fail(error.description, ExitStatus.cannotCreate) }
        let (trained, epochs, step): (ModelFile, Int, Int)
        switch read {
        case .image(let c): (trained, epochs, step) = (c.modelFile(time: time), c.state.history.count, c.state.globalStep)
        case .text(let c): (trained, epochs, step) = (c.modelFile(time: time), c.state.history.count, c.state.globalStep)
        case .sequence(let c): (trained, epochs, step) = (c.modelFile(time: time), c.state.history.count, c.state.globalStep)
        case .cnn(let c):
            do { trained = try c.modelFile(time: time) } catch { throw fail(error.description, ExitStatus.input) }
            (epochs, step) = (c.state.history.count, c.state.globalStep)
        }
        let model = try storing(trained, as: weights)
        do { try ModelWriter.write(model, to: output) } catch { throw fail("\(output): \(error)", ExitStatus.io) }
        printError("rnn-train: wrote \(output) (\(weights.rawValue) weights, epoch \(epochs), step \(step))")
    }
}
