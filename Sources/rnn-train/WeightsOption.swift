import ArgumentParser
import RNNFormat

/// The `--weights` choice: the dtype the model's weight matrices are stored in (spec §4.1).
///
/// Rank-1 tensors (biases) always stay f32; ``RNNFormat/ModelFile/converted(to:)`` states why.
enum WeightsDType: String, ExpressibleByArgument, CaseIterable {
    case f32, f16, bf16, int8

    /// The format's dtype.
    var dtype: DType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .int8: .int8
        }
    }

    static let help: ArgumentHelp = """
        Store weight matrices as f32, f16, bf16 or int8 (symmetric per row, f32 scales); biases stay f32.
        """
}

/// `model` with its weight matrices stored as `weights` (exit 64 if a value does not fit the dtype;
/// the checkpoint is kept, so `rnn-train export --weights` can retry with another dtype).
func storing(_ model: ModelFile, as weights: WeightsDType) throws -> ModelFile {
    do { return try model.converted(to: weights.dtype) } catch {
        throw fail("cannot store the weights as \(weights.rawValue): \(error)", ExitStatus.usage)
    }
}
