import RNNCore

/// A batch of token sequences of different lengths, packed time-major for the masked LSTM: RNNCore's
/// ``PackedBatch`` (sorted longest first, so the sequences still running at step `t` are a prefix of
/// the batch; steps past a sequence's end are never computed, so padding cannot change a result,
/// spec §6.2.1) plus the token ids in that packed order.
package struct TextBatch: Sendable {
    /// Where each sequence's rows sit.
    package let packing: PackedBatch
    /// Packed token ids, `totalTokens` of them: row `(t, b)` at `offsets[t] + b`.
    package let tokens: [Int32]

    /// Batch position -> index into the caller's sequences (longest first; ties in caller order).
    package var order: [Int] { packing.order }
    /// Length of each sorted sequence.
    package var lengths: [Int] { packing.lengths }
    /// Rows that are still running at step `t`, for `t` in `0 ..< steps`.
    package var active: [Int] { packing.active }
    /// First packed row of step `t`.
    package var offsets: [Int] { packing.offsets }
    /// The longest length: the number of steps.
    package var steps: Int { packing.steps }
    /// Sequences in the batch.
    package var count: Int { packing.count }
    /// Sum of all lengths: rows of every packed matrix.
    package var totalTokens: Int { packing.total }

    /// Packs `sequences` (each a list of token ids; empty sequences are allowed).
    package init(_ sequences: [[Int32]]) {
        let packing = PackedBatch(lengths: sequences.map(\.count))
        var tokens = [Int32](repeating: 0, count: packing.total)
        for t in 0..<packing.steps {
            for b in 0..<packing.active[t] { tokens[packing.offsets[t] + b] = sequences[packing.order[b]][t] }
        }
        self.packing = packing
        self.tokens = tokens
    }
}
