import RNNKernels

/// One call of the GRU step kernel (`rnnk_gru_step`, rnn_kernels.h), with named arguments.
/// (Temporary wrapper while the kernel branch lands.)
package struct GRUStep {
    package var rows: Int
    package var groups: Int
    package var x: UnsafePointer<Float>?
    package var xStride: Int
    package var xWidth: Int
    package var wx: UnsafePointer<Float>?
    package var h: UnsafePointer<Float>?
    package var hStride: Int
    package var wh: UnsafePointer<Float>
    package var biasX: UnsafePointer<Float>
    package var biasHN: UnsafePointer<Float>?
    package var resetAfter: Bool
    package var hOut: UnsafeMutablePointer<Float>
    package var hOutStride: Int
    package var scratch: UnsafeMutablePointer<Float>?

    package init(rows: Int, groups: Int, x: UnsafePointer<Float>?, xStride: Int, xWidth: Int, wx: UnsafePointer<Float>?,
                 h: UnsafePointer<Float>?, hStride: Int, wh: UnsafePointer<Float>, biasX: UnsafePointer<Float>,
                 biasHN: UnsafePointer<Float>?, resetAfter: Bool, hOut: UnsafeMutablePointer<Float>, hOutStride: Int,
                 scratch: UnsafeMutablePointer<Float>?) {
        self.rows = rows; self.groups = groups; self.x = x; self.xStride = xStride; self.xWidth = xWidth; self.wx = wx
        self.h = h; self.hStride = hStride; self.wh = wh; self.biasX = biasX; self.biasHN = biasHN
        self.resetAfter = resetAfter; self.hOut = hOut; self.hOutStride = hOutStride; self.scratch = scratch
    }

    package func run(_ isa: KernelISA) {
        var args = rnnk_gru_step_args(
            rows: Int32(rows), groups: Int32(groups), x: x, x_stride: xStride, x_width: Int32(x == nil ? 0 : xWidth), wx: wx,
            h: h, h_stride: hStride, h_width: h == nil ? 0 : Int32(8 * groups), wh: wh, bias_x: biasX, bias_hn: biasHN,
            reset_after: resetAfter ? 1 : 0, h_out: hOut, h_out_stride: hOutStride, scratch: scratch,
            z_in: nil, z_in_stride: 0, gates_out: nil, gates_stride: 0, gates_hidden: 0)
        let status = rnnk_gru_step(isa.c, &args)
        precondition(status == RNNK_OK, "rnnk_gru_step(\(isa)): \(String(cString: rnnk_status_message(status)))")
    }
}

extension GateLayout {
    package static func gruRow(gate: Int, unit: Int) -> Int { (unit / laneCount) * 3 * laneCount + gate * laneCount + unit % laneCount }

    package static func interleaveGRU(_ m: [Double], hidden: Int, padded: Int, columns: Int, stride: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * padded * stride)
        for gate in 0..<3 {
            for unit in 0..<hidden {
                let source = (gate * hidden + unit) * columns
                let target = gruRow(gate: gate, unit: unit) * stride
                for c in 0..<columns { out[target + c] = Float(m[source + c]) }
            }
        }
        return out
    }

    package static func packGRU(_ m: [Float], rows: Int, columns: Int) -> [Float] {
        let groups = Int32(rows / 24)
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { out[rnnk_gru_packed_index(groups, Int32(columns), Int32(c), Int32(r))] = m[r * columns + c] }
        }
        return out
    }
}
