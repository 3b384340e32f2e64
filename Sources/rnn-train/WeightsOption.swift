import ArgumentParser
import CommandLineSupport
import RNNFormat

/// The `--weights` choice, shared with `rnn-infer convert` (CommandLineSupport).
typealias WeightsDType = CommandLineSupport.WeightsDType

/// `model` with its weight matrices stored as `weights` (exit 64 if a value does not fit the dtype;
/// the checkpoint is kept, so `rnn-train export --weights` can retry with another dtype).
func storing(_ model: ModelFile, as weights: WeightsDType) throws -> ModelFile {
    do { return try model.converted(to: weights.dtype) } catch {
        throw fail("cannot store the weights as \(weights.rawValue): \(error)", ExitStatus.usage)
    }
}
