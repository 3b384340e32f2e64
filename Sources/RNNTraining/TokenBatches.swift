import RNNCore

/// Token sequences of different lengths stored end to end: sequence `i` is
/// `ids[offsets[i] ..< offsets[i + 1]]`. The engine's ``BatchSource/tokens(_:offsets:)`` reads
/// them without copying a `[[Int32]]` per batch.
package struct PackedTokens: Sendable, Equatable {
    /// Every token id, sequence after sequence.
    package private(set) var ids: [Int32]
    /// `count + 1` offsets into ``ids``; the first is 0.
    package private(set) var offsets: [Int]

    /// Packs `sequences` (empty ones allowed).
    package init(_ sequences: [[Int32]]) {
        ids = Array(sequences.joined())
        var offsets = [0]
        offsets.reserveCapacity(sequences.count + 1)
        for s in sequences { offsets.append(offsets.last! + s.count) }
        self.offsets = offsets
    }

    /// Number of sequences.
    package var count: Int { offsets.count - 1 }
    /// Length of sequence `i`.
    package func length(_ i: Int) -> Int { offsets[i + 1] - offsets[i] }
    /// The longest length (0 without sequences).
    package var longest: Int { (0..<count).map(length).max() ?? 0 }

    /// Calls `body` with the engine's view of these sequences.
    func withSource<Scalar, R>(_ body: (BatchSource<Scalar>) -> R) -> R {
        ids.withUnsafeBufferPointer { ids in
            offsets.withUnsafeBufferPointer { offsets in body(.tokens(ids, offsets: offsets)) }
        }
    }

    /// `indices` cut into runs of at most `chunk`, each sorted by length (longest first, ties in
    /// index order): a batch of similar lengths runs few padding steps, since a batch runs as many
    /// steps as its longest sequence.
    func lengthSortedChunks(_ indices: [Int], chunk: Int) -> [[Int]] {
        stride(from: 0, to: indices.count, by: chunk).map { start in
            indices[start..<min(indices.count, start + chunk)].sorted { (length($0), $1) > (length($1), $0) }
        }
    }
}

/// Logits `[texts.count, C]` of token sequences under `parameters` (a model with an embedding), in
/// the order of `texts`: the texts are sorted by length and run in batches of `batchSize` split over
/// `threads` workers (results do not depend on the batching: each text runs over its own length).
func tokenLogits<Scalar: TrainingScalar>(parameters: LSTMParameters<Scalar>, texts: PackedTokens, threads: Int = 1,
                                         batchSize: Int = 128, kernel: KernelISA = .detected) -> [Scalar] {
    let c = parameters.architecture.classCount
    var out = [Scalar](repeating: 0, count: texts.count * c)
    guard texts.count > 0 else { return out }
    // One sort of every text by length, cut into batches of neighbours.
    let order = texts.lengthSortedChunks(Array(0..<texts.count), chunk: texts.count)[0]
    let sorted = stride(from: 0, to: order.count, by: batchSize).map { Array(order[$0..<min(order.count, $0 + batchSize)]) }
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: max(1, texts.longest),
                                        batchCapacity: min(batchSize, texts.count), workerCount: threads, kernel: kernel)
    parameters.values.withUnsafeBufferPointer { p in
        texts.withSource { (source: BatchSource<Scalar>) in
            for batch in sorted {
                let logits = engine.logits(parameters: p, source: source, indices: batch[...])
                for (b, index) in batch.enumerated() {
                    for k in 0..<c { out[index * c + k] = logits[b * c + k] }
                }
            }
        }
    }
    return out
}

/// Float64 logits of `texts` (see ``tokenLogits(parameters:texts:threads:batchSize:kernel:)``).
func tokenLogits(parameters: LSTMParameters<Double>, texts: [[Int32]]) -> [Double] {
    tokenLogits(parameters: parameters, texts: PackedTokens(texts), threads: 1)
}

/// The mean loss and gradient of one batch of token sequences on one thread (the float64 gradient
/// checks' path: the training code instantiated for `Double`); `dropout` fixes the masks.
func tokenLossAndGradient<Scalar: TrainingScalar>(
    parameters: LSTMParameters<Scalar>, texts: [[Int32]], labels: [Int], kernel: KernelISA = .detected,
    dropout: (rates: DropoutRates, seed: UInt64, step: Int)? = nil
) -> (loss: Double, gradient: [Scalar]) {
    let packed = PackedTokens(texts), count = labels.count
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: max(1, packed.longest),
                                        batchCapacity: count, workerCount: 1, kernel: kernel)
    var gradient = [Scalar](repeating: 0, count: parameters.layout.count)
    let result = parameters.values.withUnsafeBufferPointer { p in
        labels.withUnsafeBufferPointer { y in
            gradient.withUnsafeMutableBufferPointer { g in
                packed.withSource { (source: BatchSource<Scalar>) in
                    engine.lossAndGradient(parameters: p, source: source, labels: y, indices: Array(0..<count)[...],
                                           gradient: g, dropout: dropout)
                }
            }
        }
    }
    return (result.loss / Double(count), gradient)
}
