import ArgumentParser
import CommandLineSupport
import RNNTraining

/// `rnn-train`: trains the MNIST LSTM classifier and exports `.rnnm` models.
@main
struct RNNTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-train",
        abstract: "Train an LSTM classifier (MNIST, Fashion-MNIST images; IMDb reviews) and export it as an .rnnm model.",
        discussion: """
            Exit codes: 0 success, 64 invalid options, hyperparameters or RNN_TRAIN_KERNEL, 65 data set missing or invalid, \
            66 checkpoint unreadable or invalid, 70 training diverged, 73 output path unusable (a directory, a missing or read-only directory), \
            74 I/O error while writing, 130 interrupted (a checkpoint was written; resume with --resume).
            """,
        version: ToolMain.versionText(tool: "rnn-train", version: trainerVersion),
        subcommands: [Train.self, Export.self],
        defaultSubcommand: Train.self)

    /// Runs the command; usage errors are one line (exit 64), like every other failure.
    static func main() {
        ToolMain.run(Self.self, tool: "rnn-train")
    }
}
