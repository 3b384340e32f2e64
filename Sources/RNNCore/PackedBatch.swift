/// A batch of sequences of different lengths, sorted and packed time-major.
///
/// Sequences are sorted by length, longest first (ties keep the caller's order), so the ones still
/// running at step `t` are a prefix of the batch: `active[t]` rows. Row `(t, b)` of every packed
/// matrix sits at `offsets[t] + b`, and rows `0 ..< active[t]` of step `t` continue rows
/// `0 ..< active[t]` of step `t - 1` (a state buffer of `count` rows can be updated in place). Steps
/// past a sequence's end are never computed, so padding cannot change a result: this is the
/// masking, done by not running the masked rows at all. A batch of equal lengths `T` keeps the
/// caller's order and packs as plain time-major rows `t * count + b`.
package struct PackedBatch: Sendable {
    /// Batch position -> index into the caller's sequences.
    package let order: [Int]
    /// Length of each sorted sequence.
    package let lengths: [Int]
    /// Rows still running at step `t`, for `t` in `0 ..< steps`.
    package let active: [Int]
    /// First packed row of step `t`.
    package let offsets: [Int]
    /// Sum of all lengths: rows of every packed matrix.
    package let total: Int

    /// The longest length: the number of steps.
    package var steps: Int { active.count }
    /// Sequences in the batch.
    package var count: Int { order.count }

    /// Packs sequences of the given lengths (zero lengths are allowed: such a sequence never runs).
    package init(lengths unsorted: [Int]) {
        let order = unsorted.indices.sorted { unsorted[$0] > unsorted[$1] || (unsorted[$0] == unsorted[$1] && $0 < $1) }
        let lengths = order.map { unsorted[$0] }
        let steps = lengths.first ?? 0
        var active = [Int](repeating: 0, count: steps)
        var offsets = [Int](repeating: 0, count: steps)
        var running = lengths.count
        var total = 0
        for t in 0..<steps {
            while running > 0 && lengths[running - 1] <= t { running -= 1 }
            active[t] = running
            offsets[t] = total
            total += running
        }
        self.order = order
        self.lengths = lengths
        self.active = active
        self.offsets = offsets
        self.total = total
    }

    /// `count` sequences of `length` steps each, in the caller's order.
    package init(count: Int, length: Int) {
        self.init(lengths: [Int](repeating: length, count: count))
    }

    /// The packed row of sorted sequence `b` at its last step.

    package func lastRow(_ b: Int) -> Int { offsets[lengths[b] - 1] + b }
}
