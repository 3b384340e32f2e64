import RNNFormat

/// Everything that can go wrong in training, checkpointing or export.
package enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A size of the network is out of range; the message names the option, the range and the value.
    case invalidArchitecture(String)
    /// A training hyperparameter is out of range; the message names the option, the range and the value.
    case invalidHyperparameter(String)
    /// A checkpoint file is not one, is damaged, or does not fit this trainer.
    case invalidCheckpoint(path: String, reason: String)
    /// A training state handed to ``TrainingLoop/run(_:events:shouldStop:checkpoint:)`` that no run of
    /// its configuration on its data reaches (spec/CHECKPOINT.md §4.2, §4.4); the message names the field.
    case invalidState(String)
    /// A model file does not have the dense_in / lstm... / dense_out shape this trainer produces.
    case unsupportedModel(String)
    /// The data set does not fit the model (wrong image size, too few images, label out of range).
    case dataMismatch(String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// The loss became NaN or infinite; training cannot continue.
    case diverged(step: Int)

    /// One line naming what was expected and what was found. Control characters (a newline in a
    /// path or in a string read from a damaged file) are escaped, so it stays one line.
    package var description: String { TerminalText.escaped(text) }

    private var text: String {
        switch self {
        case .invalidArchitecture(let m), .invalidHyperparameter(let m): m
        case .invalidCheckpoint(let path, let reason): "\(path): not a usable checkpoint: \(reason)"
        case .invalidState(let m): "training state does not fit the run: \(m)"
        case .unsupportedModel(let m): "unsupported model: \(m)"
        case .dataMismatch(let m): "data does not fit the model: \(m)"
        case .io(let path, let reason): "\(path): \(reason)"
        case .diverged(let step): "training diverged at step \(step): the loss is not finite (try a lower --lr or --clip)"
        }
    }
}
