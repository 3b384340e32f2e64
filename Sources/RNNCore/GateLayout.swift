import RNNKernels

/// Where an LSTM's gate rows live for the fused passes (Swift gate pass and C kernels alike).
///
/// The hidden size `H` is padded to `paddedHidden`, a multiple of 8, and the `4H` gate rows of
/// `W_ih`, `W_hh` and the bias are *interleaved* in groups of 8 units: row `32 (j / 8) + 8 k + j % 8`
/// holds gate `k` (i, f, g, o) of unit `j`. A gate pass then reads one contiguous run of 32
/// pre-activations per 8 units and writes 8 cells and 8 hidden values, with no tail loop. Padded
/// units have zero weights and bias, so their cell stays `0.5 * 0 + 0.5 * tanh(0) = 0` and their
/// hidden value `sigmoid(0) * tanh(0) = 0` forever: they never change the real units.
///
/// The C kernels read weights in *panels* (`rnnk_packed_index`): per pair of unit groups, `columns`
/// contiguous rows of 64 weights, which a register tile streams front to back.
///
/// A GRU (gates r, z, n, PyTorch's order) has the same layout with 3 gates: row
/// `24 (j / 8) + 8 k + j % 8` holds gate `k` of unit `j` (``gruRow(gate:unit:)``), and its panels
/// (`rnnk_gru_packed_index`) are one per group, `columns` rows of 24 weights.
package enum GateLayout {
    /// `h` rounded up to a multiple of 8.

    package static func paddedHidden(_ h: Int) -> Int { (h + laneCount - 1) / laneCount * laneCount }

    /// The interleaved row of gate `gate` (0 i, 1 f, 2 g, 3 o) of unit `unit`.

    package static func row(gate: Int, unit: Int) -> Int {
        (unit / laneCount) * 4 * laneCount + gate * laneCount + unit % laneCount
    }

    /// The GRU's interleaved row of gate `gate` (0 r, 1 z, 2 n) of unit `unit`.

    package static func gruRow(gate: Int, unit: Int) -> Int {
        (unit / laneCount) * 3 * laneCount + gate * laneCount + unit % laneCount
    }

    /// Reorders gate-major rows (`[4H, columns]`, gate order i, f, g, o) into the interleaved,
    /// padded layout (`[4 * padded, stride]`, extra columns zero), rounding to binary32.
    package static func interleave(_ m: [Double], hidden: Int, padded: Int, columns: Int, stride: Int) -> [Float] {
        interleave(m, gates: 4, row: row(gate:unit:), hidden: hidden, padded: padded, columns: columns, stride: stride)
    }

    /// Reorders a GRU's gate-major rows (`[3H, columns]`, PyTorch's gate order r, z, n) into the
    /// interleaved, padded layout (`[3 * padded, stride]`, rows ``gruRow(gate:unit:)``, extra columns
    /// zero), rounding to binary32.
    ///
    /// The padded units' rows (weights and biases) stay 0, and so does their state: with zero
    /// pre-activations `z = σ(0) = 0.5` and `n = tanh(0) = 0`, so `h' = 0.5 * 0 + 0.5 * h = 0` when
    /// `h` starts at 0, step after step; and as their `h` is 0, their columns of `W_h` (also 0)
    /// never reach the real units.
    package static func interleaveGRU(_ m: [Double], hidden: Int, padded: Int, columns: Int, stride: Int) -> [Float] {
        interleave(m, gates: 3, row: gruRow(gate:unit:), hidden: hidden, padded: padded, columns: columns, stride: stride)
    }

    private static func interleave(_ m: [Double], gates: Int, row: (_ gate: Int, _ unit: Int) -> Int,
                                   hidden: Int, padded: Int, columns: Int, stride: Int) -> [Float] {
        var out = [Float](repeating: 0, count: gates * padded * stride)
        for gate in 0..<gates {
            for unit in 0..<hidden {
                let source = (gate * hidden + unit) * columns
                let target = row(gate, unit) * stride
                for c in 0..<columns { out[target + c] = Float(m[source + c]) }
            }
        }
        return out
    }

    /// Rearranges interleaved `[rows, columns]` rows (`rows = 4 * padded`) into the kernels' panels.
    package static func pack(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        pack(m, rows: rows, columns: columns, index: rnnk_packed_index, groups: rows / 32)
    }

    /// Rearranges a GRU's interleaved `[rows, columns]` rows (`rows = 3 * padded`) into the GRU
    /// kernel's panels (`rnnk_gru_packed_index`).
    package static func packGRU(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        pack(m, rows: rows, columns: columns, index: rnnk_gru_packed_index, groups: rows / 24)
    }

    private static func pack(_ m: [Float], rows: Int, columns: Int,
                             index: (_ groups: Int32, _ width: Int32, _ k: Int32, _ column: Int32) -> Int,
                             groups: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { out[index(Int32(groups), Int32(columns), Int32(c), Int32(r))] = m[r * columns + c] }
        }
        return out
    }

    /// Packs gate-major rows (`[4h, columns]`, `h` a multiple of 8) straight into panels: the
    /// trainer's per-batch path, which needs neither padding nor the Double round trip.
    package static func packGateMajor(_ w: UnsafePointer<Float>, hidden h: Int, columns: Int) -> [Float] {
        precondition(h % laneCount == 0, "packGateMajor needs a hidden size that is a multiple of 8")
        var out = [Float](repeating: 0, count: 4 * h * columns)
        let groups = Int32(h / laneCount)
        for gate in 0..<4 {
            for unit in 0..<h {
                let column = Int32(row(gate: gate, unit: unit))
                let source = w + (gate * h + unit) * columns
                for k in 0..<columns { out[rnnk_packed_index(groups, Int32(columns), Int32(k), column)] = source[k] }
            }
        }
        return out
    }
}
