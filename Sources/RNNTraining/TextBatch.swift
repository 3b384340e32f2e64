/// A batch of token sequences of different lengths, packed time-major for the masked LSTM.
///
/// The sequences are sorted by length, longest first, so the ones still running at step `t` are a
/// prefix of the batch: `active[t]` rows. Row `(t, b)` of every packed matrix sits at
/// `offsets[t] + b`. Steps past a sequence's end are never computed, so padding cannot change a
/// result (spec §6.2.1): this is the masking, done by not running the masked rows at all.
package struct TextBatch: Sendable {
    /// Batch position -> index into the caller's sequences (longest first; ties in caller order).
    package let order: [Int]
    /// Length of each sorted sequence.
    package let lengths: [Int]
    /// Rows that are still running at step `t`, for `t` in `0 ..< steps`.
    package let active: [Int]
    /// First packed row of step `t`.
    package let offsets: [Int]
    /// Packed token ids, `totalTokens` of them.
    package let tokens: [Int32]

    /// The longest length: the number of steps.
    package var steps: Int { active.count }
    /// Sequences in the batch.
    package var count: Int { order.count }
    /// Sum of all lengths: rows of every packed matrix.
    package var totalTokens: Int { tokens.count }

    /// Packs `sequences` (each a list of token ids; empty sequences are allowed).
    package init(_ sequences: [[Int32]]) {
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count || (sequences[$0].count == sequences[$1].count && $0 < $1) }
        let lengths = order.map { sequences[$0].count }
        let steps = lengths.first ?? 0
        var active = [Int](repeating: 0, count: steps)
        var offsets = [Int](repeating: 0, count: steps)
        var running = lengths.count
        var offset = 0
        for t in 0..<steps {
            while running > 0 && lengths[running - 1] <= t { running -= 1 }
            active[t] = running
            offsets[t] = offset
            offset += running
        }
        var tokens = [Int32](repeating: 0, count: offset)
        for t in 0..<steps {
            for b in 0..<active[t] { tokens[offsets[t] + b] = sequences[order[b]][t] }
        }
        self.order = order
        self.lengths = lengths
        self.active = active
        self.offsets = offsets
        self.tokens = tokens
    }
}
