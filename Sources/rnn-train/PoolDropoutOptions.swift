import ArgumentParser
import RNNTraining

extension TimePooling: ExpressibleByArgument {}

/// `--pool` and the three dropout rates of the image and feature-sequence classifiers.
struct PoolDropoutOptions: ParsableArguments {
    @Option(help: "What dense_out reads: last (the final state), mean or max of the last layer's outputs over each sequence's steps (a format-1.3 pool layer).") var pool: TimePooling?
    @Option(help: "Dropout on the input x (before dense_in) during training.") var inputDropout: Double?
    @Option(help: "Dropout between stacked recurrent layers during training.") var dropout: Double?
    @Option(help: "Dropout on dense_out's input (final state or pooled vector) during training.") var outputDropout: Double?

    /// Whether any of these options was given (the IMDb model takes none of them).
    var isSet: Bool { pool != nil || inputDropout != nil || dropout != nil || outputDropout != nil }

    /// Sets the pooling and, when any rate is given, the dropout rates of `c`.
    func apply(to c: inout TrainingConfiguration) {
        if let v = pool { c.architecture.pooling = v }
        if inputDropout != nil || dropout != nil || outputDropout != nil {
            c.dropout = DropoutRates(input: inputDropout ?? 0, between: dropout ?? 0, output: outputDropout ?? 0)
        }
    }
}
