import RNNKernels

/// The variants of the int8 products (`rnnk_i8_isa`, rnn_kernels.h), detected once per process.
package enum Int8ISA: Int, Sendable, CaseIterable, Comparable {
    /// Plain C: every CPU.
    case portable = 0
    /// 256-bit vpmaddubsw / vpmaddwd.
    case avx2 = 1
    /// ARM64 SDOT (the dot product instructions, ARMv8.2), 128-bit.
    case neonDot = 2
    /// 512-bit vpdpbusd (AVX-512 VNNI).
    case avx512vnni = 3

    /// The best variant this CPU runs.
    package static let detected: Int8ISA = Int8ISA(rawValue: Int(rnnk_detect_i8_isa().rawValue)) ?? .portable

    /// The variants this CPU runs, in increasing order.
    package static var supported: [Int8ISA] { allCases.filter { rnnk_i8_isa_available($0.c) != 0 } }

    package var c: rnnk_i8_isa { rnnk_i8_isa(rawValue: UInt32(rawValue)) }

    /// The variant that goes with a float step variant: its instruction-set tier, as far as this CPU
    /// has int8 instructions for it (AVX-512 without VNNI takes the AVX2 products).
    package static func matching(_ isa: KernelISA) -> Int8ISA {
        switch isa {
        case .none: .portable
        case .neon: supported.contains(.neonDot) ? .neonDot : .portable
        case .avx2: supported.contains(.avx2) ? .avx2 : .portable
        case .avx512: supported.contains(.avx512vnni) ? .avx512vnni : (supported.contains(.avx2) ? .avx2 : .portable)
        }
    }

    package static func < (a: Int8ISA, b: Int8ISA) -> Bool { a.rawValue < b.rawValue }
}

/// One recurrent weight matrix for the int8 evaluation (spec §6.6): the file's int8 values and per-row
/// scales, in the interleaved, padded gate layout (``GateLayout``), packed for the products
/// (`rnnk_i8_pack`).
package struct Int8Matrix: Sendable {
    /// `columns * 4 * ceil(width / 4)` bytes (`rnnk_i8_packed_index`).
    package let packed: [Int8]
    /// `[columns]`: the sum of each column's values (the VNNI variant's unsigned-input correction).
    package let columnSums: [Int32]
    /// `[columns]`: the file's scale of the row each column came from (1 for padded columns).
    package let scales: [Float]
    package let width: Int

    /// Packs `values` (`[columns][width]`, row `c` the weights of output column `c`) with `scales[c]`.
    package init(values: [Int8], scales: [Float], columns: Int, width: Int) {
        precondition(values.count == columns * width && scales.count == columns && columns % 8 == 0)
        var packed = [Int8](repeating: 0, count: columns * 4 * ((width + 3) / 4))
        var sums = [Int32](repeating: 0, count: columns)
        let status = values.withUnsafeBufferPointer { v in
            packed.withUnsafeMutableBufferPointer { p in
                sums.withUnsafeMutableBufferPointer { s in
                    rnnk_i8_pack(Int32(columns), Int32(width), v.baseAddress, p.baseAddress, s.baseAddress)
                }
            }
        }
        precondition(status == RNNK_OK, "rnnk_i8_pack: \(String(cString: rnnk_status_message(status)))")
        self.packed = packed
        self.columnSums = sums
        self.scales = scales
        self.width = width
    }

    /// Calls `body` with the C view of the matrix (valid only inside `body`).
    package func withMatrix<R>(_ body: (rnnk_i8_matrix) -> R) -> R {
        packed.withUnsafeBufferPointer { q in
            columnSums.withUnsafeBufferPointer { s in
                scales.withUnsafeBufferPointer { sc in
                    body(rnnk_i8_matrix(q: q.baseAddress, col_sum: s.baseAddress, scale: sc.baseAddress, width: Int32(width)))
                }
            }
        }
    }
}

/// One call of the int8 step (`rnnk_lstm_step_i8` / `rnnk_gru_step_i8`, rnn_kernels.h): the one place
/// that builds `rnnk_i8_step_args`. The fields mean what ``LSTMStep``'s and ``GRUStep``'s do; the
/// weights are ``Int8Matrix`` views.
package struct Int8Step {
    package enum Cell { case lstm, gru }
    package var cell: Cell
    package var rows: Int
    package var groups: Int
    package var x: UnsafePointer<Float>?
    package var xStride: Int
    package var wx: rnnk_i8_matrix
    package var h: UnsafePointer<Float>?
    package var hStride: Int
    package var wh: rnnk_i8_matrix
    /// LSTM bias or GRU `bias_x`; not read when ``zIn`` is given.
    package var bias: UnsafePointer<Float>?
    /// GRU `b_hn` (nil: 0).
    package var biasHN: UnsafePointer<Float>? = nil
    package var zIn: UnsafePointer<Float>? = nil
    package var zInStride: Int = 0
    package var cPrevious: UnsafePointer<Float>? = nil
    package var cOut: UnsafeMutablePointer<Float>? = nil
    package var cStride: Int = 0
    package var hOut: UnsafeMutablePointer<Float>
    package var hOutStride: Int
    /// ``scratchBytes(cell:groups:xWidth:)`` bytes.
    package var scratch: UnsafeMutableRawPointer

    package init(cell: Cell, rows: Int, groups: Int, x: UnsafePointer<Float>?, xStride: Int, wx: rnnk_i8_matrix,
                 h: UnsafePointer<Float>?, hStride: Int, wh: rnnk_i8_matrix, bias: UnsafePointer<Float>?,
                 hOut: UnsafeMutablePointer<Float>, hOutStride: Int, scratch: UnsafeMutableRawPointer) {
        self.cell = cell
        self.rows = rows
        self.groups = groups
        self.x = x
        self.xStride = xStride
        self.wx = wx
        self.h = h
        self.hStride = hStride
        self.wh = wh
        self.bias = bias
        self.hOut = hOut
        self.hOutStride = hOutStride
        self.scratch = scratch
    }

    /// Bytes of scratch one call needs (any number of rows).
    package static func scratchBytes(cell: Cell, groups: Int, xWidth: Int) -> Int {
        Int(rnnk_i8_step_scratch_bytes(cell == .lstm ? 32 : 24, Int32(groups), Int32(xWidth)))
    }

    /// Runs the step with variant `isa`. A nonzero status is a caller bug (see ``LSTMStep/run(_:)``).
    package func run(_ isa: Int8ISA) {
        var args = rnnk_i8_step_args(
            rows: Int32(rows), groups: Int32(groups),
            x: x, x_stride: xStride, x_width: x == nil ? 0 : wx.width, wx: wx,
            h: h, h_stride: hStride, wh: wh,
            bias: bias, bias_hn: biasHN, z_in: zIn, z_in_stride: zInStride,
            c_prev: cPrevious, c_out: cOut, c_stride: cStride,
            h_out: hOut, h_out_stride: hOutStride, scratch: scratch)
        let status = cell == .lstm ? rnnk_lstm_step_i8(isa.c, &args) : rnnk_gru_step_i8(isa.c, &args)
        precondition(status == RNNK_OK, "int8 step (\(isa)): \(String(cString: rnnk_status_message(status)))")
    }
}
