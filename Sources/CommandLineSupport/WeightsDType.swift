import ArgumentParser
import RNNFormat

/// The `--weights` choice of `rnn-train` and `rnn-infer convert`: the dtype the model's weight
/// matrices are stored in (spec §4.1).
///
/// Rank-1 tensors (biases) always stay f32; ``RNNFormat/ModelFile/converted(to:)`` states why.
package enum WeightsDType: String, ExpressibleByArgument, CaseIterable, Sendable {
    case f32, f16, bf16, int8

    /// The format's dtype.
    package var dtype: DType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .int8: .int8
        }
    }

    package static let help: ArgumentHelp = """
        Store weight matrices as f32, f16, bf16 or int8 (symmetric per row, f32 scales); biases stay f32.
        """
}
