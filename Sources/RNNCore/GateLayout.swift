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
package enum GateLayout {
    /// `h` rounded up to a multiple of 8.

    package static func paddedHidden(_ h: Int) -> Int { (h + laneCount - 1) / laneCount * laneCount }

    /// The interleaved row of gate `gate` (0 i, 1 f, 2 g, 3 o) of unit `unit`.

    package static func row(gate: Int, unit: Int) -> Int {
        (unit / laneCount) * 4 * laneCount + gate * laneCount + unit % laneCount
    }

    /// Reorders gate-major rows (`[4H, columns]`, gate order i, f, g, o) into the interleaved,
    /// padded layout (`[4 * padded, stride]`, extra columns zero), rounding to binary32.
    package static func interleave(_ m: [Double], hidden: Int, padded: Int, columns: Int, stride: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 4 * padded * stride)
        for gate in 0..<4 {
            for unit in 0..<hidden {
                let source = (gate * hidden + unit) * columns
                let target = row(gate: gate, unit: unit) * stride
                for c in 0..<columns { out[target + c] = Float(m[source + c]) }
            }
        }
        return out
    }

    /// Rearranges interleaved `[rows, columns]` rows (`rows = 4 * padded`) into the kernels' panels.
    package static func pack(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        let groups = Int32(rows / 32)
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { out[rnnk_packed_index(groups, Int32(columns), Int32(c), Int32(r))] = m[r * columns + c] }
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
