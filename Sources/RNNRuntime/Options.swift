import RNNCore

/// Choices made once, when a ``Model`` is loaded.
public struct LoadOptions: Sendable, Equatable {
    /// Whether activation-free dense layers in front of an LSTM are folded into its input weights.
    public var folding: DenseFolding
    /// Token models: the embedding is folded into the first LSTM's input projection (a table
    /// `[V, 4 * paddedHidden]` of binary32, see ``Model``) only when that table takes at most this
    /// many bytes; 0 never folds. Default 64 MiB.
    public var embeddingFoldingLimitBytes: Int

    /// How recurrent layers whose weights the file stores as int8 are evaluated. Default
    /// ``RecurrentEvaluation/automatic``: the int8 evaluation of spec §6.6.
    public var evaluation: RecurrentEvaluation

    /// The defaults: fold dense layers when it saves work, fold embeddings up to 64 MiB, int8 layers
    /// in the int8 evaluation.
    public init(folding: DenseFolding = .whenCheaper, embeddingFoldingLimitBytes: Int = 64 << 20,
                evaluation: RecurrentEvaluation = .automatic) {
        self.folding = folding
        self.embeddingFoldingLimitBytes = embeddingFoldingLimitBytes
        self.evaluation = evaluation
    }
}

/// How a recurrent layer whose weights are stored as int8 is evaluated (spec §6.6).
///
/// The two differ by the quantization of the activations: the int8 evaluation rounds `x` and `h` to
/// 8 bits per row and step (spec §6.6 states the error bound against binary32), the float evaluation
/// dequantizes the weights at load and is exact to binary32 as for an f32 file.
public enum RecurrentEvaluation: String, Sendable, Equatable, CaseIterable {
    /// LSTMs and reset-after GRUs whose `W_ih` and `W_hh` are all int8 keep their integer weights and run
    /// the int8 evaluation (integer products, `Int8Kernel`); every other layer runs in binary32.
    case automatic
    /// Every layer is dequantized at load and runs in binary32 (spec §6.1): the evaluation of f32 files.
    case float
}

/// Which implementation runs the recurrent layers' time steps.
///
/// For float layers, all compute spec §6.1 in binary32 with the same activation approximations;
/// they differ only in rounding (summation order), far below the tolerances the tests check. For
/// int8 layers (spec §6.6) the integer products are identical on every variant.
public enum StepKernel: Sendable, Equatable {
    /// The fused kernel for this CPU (``Model/fusedKernel``) when there is one and the activations
    /// are ``ActivationMath/fast``; otherwise ``portable``.
    case automatic
    /// BLAS for the matrix products (one GEMM for the input projection of all steps, one per step
    /// for the recurrent term) and a vectorized Swift pass for the gates. Runs on every platform.
    case portable
    /// One particular fused variant (for tests and comparisons); `classify` throws
    /// ``RuntimeError/kernelUnavailable(requested:available:)`` when this CPU lacks it, and
    /// ``FusedKernel/none`` means ``portable``.
    case fused(FusedKernel)

    /// The float variant and the int8 variant this choice runs: automatic, the best of each; portable,
    /// the portable ones; a fused variant, its own and the int8 products of the same tier (AVX-512: VNNI
    /// when the CPU has it, else AVX2).
    var variants: (KernelISA, Int8ISA) {
        switch self {
        case .automatic: (.detected, .detected)
        case .portable: (.none, .portable)
        case .fused(let variant): (variant.isa, Int8ISA.matching(variant.isa))
        }
    }
}

/// Choices for one `classify` call of a ``Model``.
///
/// The results do not depend on ``threads``: inputs are grouped into blocks of ``blockSize``
/// whatever the thread count (images: block `k` holds images `k * blockSize ..< (k + 1) * blockSize`;
/// token sequences: the same after a stable sort by length, longest first), and threads only decide
/// who computes which block. Changing ``blockSize`` may change the last bits
/// of the logits (BLAS may round a `B`-row product differently for different `B`).
public struct ClassifyOptions: Sendable, Equatable {
    /// Worker threads, 1 ... ``ClassifyOptions/threadLimit``. The batch is split between them block by block.
    public var threads: Int
    /// Sequences per block, 1 ... 4096: the `B` of every GEMM. Larger blocks make larger (faster)
    /// GEMMs; a block's scratch memory is about `T * B * (4H + 2 * width) * 4` bytes, and blocks are
    /// made smaller for very large models so that it stays below 256 MiB per thread.
    public var blockSize: Int
    /// The gate-pass implementation of `sigmoid` and `tanh`.
    public var activationMath: ActivationMath
    /// Which implementation runs the LSTM time steps.
    public var kernel: StepKernel

    /// The defaults: one thread, blocks of 64 images, the fast activations, the best kernel.
    public init(threads: Int = 1, blockSize: Int = 64, activationMath: ActivationMath = .fast,
                kernel: StepKernel = .automatic) {
        self.threads = threads
        self.blockSize = blockSize
        self.activationMath = activationMath
        self.kernel = kernel
    }

    /// The allowed thread counts: one range for every tool and API.
    public static let threadLimit = 1...256

    func validated() throws(RuntimeError) -> ClassifyOptions {
        guard Self.threadLimit.contains(threads) else {
            throw .invalidOption(name: "thread count", expected: "\(Self.threadLimit)", found: threads)
        }
        guard (1...4096).contains(blockSize) else {
            throw .invalidOption(name: "block size", expected: "1...4096", found: blockSize)
        }
        if case .fused(let variant) = kernel, !FusedKernel.supported.contains(variant) {
            throw .kernelUnavailable(requested: variant, available: FusedKernel.detected)
        }
        return self
    }
}
