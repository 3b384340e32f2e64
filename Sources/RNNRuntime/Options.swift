/// Choices made once, when a ``Model`` is loaded.
public struct LoadOptions: Sendable, Equatable {
    /// Whether activation-free dense layers in front of an LSTM are folded into its input weights.
    public var folding: DenseFolding

    /// The defaults: fold when it saves work.
    public init(folding: DenseFolding = .whenCheaper) {
        self.folding = folding
    }
}

/// Choices for one `classify` call of a ``Model``.
///
/// The results do not depend on ``threads``: images are grouped into blocks of ``blockSize``
/// (block `k` holds images `k * blockSize ..< (k + 1) * blockSize`) whatever the thread count, and
/// threads only decide who computes which block. Changing ``blockSize`` may change the last bits
/// of the logits (BLAS may round a `B`-row product differently for different `B`).
public struct ClassifyOptions: Sendable, Equatable {
    /// Worker threads, 1 ... 256. The batch is split between them block by block.
    public var threads: Int
    /// Images per block, 1 ... 4096: the `B` of every GEMM. Larger blocks make larger (faster)
    /// GEMMs; a block's scratch memory is about `T * B * (4H + 2 * width) * 4` bytes, and blocks are
    /// made smaller for very large models so that it stays below 256 MiB per thread.
    public var blockSize: Int
    /// The gate-pass implementation of `sigmoid` and `tanh`.
    public var activationMath: ActivationMath

    /// The defaults: one thread, blocks of 64 images, the fast activations.
    public init(threads: Int = 1, blockSize: Int = 64, activationMath: ActivationMath = .fast) {
        self.threads = threads
        self.blockSize = blockSize
        self.activationMath = activationMath
    }

    func validated() throws(RuntimeError) -> ClassifyOptions {
        guard (1...256).contains(threads) else {
            throw .invalidOption(name: "thread count", expected: "1...256", found: threads)
        }
        guard (1...4096).contains(blockSize) else {
            throw .invalidOption(name: "block size", expected: "1...4096", found: blockSize)
        }
        return self
    }
}
