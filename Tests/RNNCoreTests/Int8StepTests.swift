import Foundation
import RNNCore
import RNNKernels
import Testing

/// The int8 evaluation's kernels (spec/FORMAT.md §6.6; rnn_kernels.h "int8 evaluation") on every
/// variant this CPU runs: the activation quantizer against the spec's rule, the integer products
/// bit for bit against a naive sum, whole LSTM and GRU steps against a float64 reference built on the
/// same integers, and the spec's error bound against the float evaluation.
@Suite("int8 steps")
struct Int8StepTests {
    static let variants = Int8ISA.supported

    /// A small deterministic generator (xorshift64*).
    struct Numbers {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2685821657736338717
        }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func float(_ range: ClosedRange<Double>) -> Float { Float(range.lowerBound + unit() * (range.upperBound - range.lowerBound)) }
        mutating func int8() -> Int8 { Int8(Int(next() % 255) - 127) }
    }

    /// The spec's rule, written from §6.6 in Swift (binary32 throughout).
    static func quantize(_ v: [Float]) -> (q: [Int8], scale: Float) {
        let m = v.reduce(Float(0)) { max($0, abs($1)) }
        var s = m / 127
        if s == 0 { s = 1 }
        return (v.map { Int8(max(-127, min(127, ($0 / s).rounded(.toNearestOrEven)))) }, s)
    }

    static func kernelQuantize(_ v: [Float]) -> (q: [Int8], scale: Float) {
        let padded = 4 * ((v.count + 3) / 4)
        var q = [Int8](repeating: 99, count: padded)
        var scale: Float = 0
        let status = v.withUnsafeBufferPointer { vp in
            rnnk_i8_quantize(1, vp.baseAddress, v.count, Int32(v.count), &q, padded, &scale)
        }
        #expect(status == RNNK_OK)
        #expect(q[v.count...].allSatisfy { $0 == 0 }, "padding is zero")
        return (Array(q[0..<v.count]), scale)
    }

    @Test func theQuantizerFollowsTheSpecsRule() {
        // m = 127 so s = 1: q = roundTiesToEven(v): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0, -1.5 -> -2.
        let ties: [Float] = [0.5, 1.5, 2.5, -0.5, -1.5, 127, -3.49, 3.51]
        #expect(Self.kernelQuantize(ties).q == [0, 2, 2, 0, -2, 127, -3, 4])
        #expect(Self.kernelQuantize(ties).scale == 1)
        // All zero: s = 1, q = 0. A negative maximum: -254 gives s = 2 and q = -127.
        #expect(Self.kernelQuantize([0, 0, 0]) == ([0, 0, 0], 1))
        #expect(Self.kernelQuantize([-254, 1, 3]) == ([-127, 0, 2], 2))
        // A maximum so small that m / 127 underflows to 0: s = 1, every q = 0.
        #expect(Self.kernelQuantize([1e-45, -1e-45]) == ([0, 0], 1))
        // Random rows of every width up to 70 against the Swift transcription of the rule.
        var numbers = Numbers(state: 7)
        for width in 1...70 {
            let v = (0..<width).map { _ in numbers.float(-3...3) }
            let kernel = Self.kernelQuantize(v), spec = Self.quantize(v)
            #expect(kernel.q == spec.q && kernel.scale == spec.scale, "width \(width)")
        }
    }

    /// An int8 matrix of random values and scales, `columns` outputs of `width` inputs.
    static func matrix(columns: Int, width: Int, _ numbers: inout Numbers) -> (values: [Int8], scales: [Float], packed: Int8Matrix) {
        let values = (0..<(columns * width)).map { _ in numbers.int8() }
        let scales = (0..<columns).map { _ in numbers.float(0.001...0.02) }
        return (values, scales, Int8Matrix(values: values, scales: scales, columns: columns, width: width))
    }

    @Test func productsAreTheExactIntegerSumsOnEveryVariant() {
        var numbers = Numbers(state: 11)
        var checked = 0
        for columns in stride(from: 8, through: 88, by: 8) {          // 16-column blocks and an 8-column tail
            for width in [0, 1, 3, 4, 5, 28, 37, 64, 130] {          // every remainder of the groups of 4 inputs
                for rows in [1, 2, 5, 6, 7, 13] {                      // every row-tile remainder (tiles of 3 and 6)
                    let m = Self.matrix(columns: columns, width: width, &numbers)
                    let x = (0..<(rows * width)).map { _ in numbers.float(-2...2) }
                    let k4 = (width + 3) / 4
                    var q = [Int8](repeating: 0, count: max(1, rows * 4 * k4)), scales = [Float](repeating: 0, count: rows)
                    _ = x.withUnsafeBufferPointer { rnnk_i8_quantize(Int32(rows), $0.baseAddress, width, Int32(width), &q, 4 * k4, &scales) }
                    let start = (0..<(rows * columns)).map { _ in numbers.float(-1...1) }
                    // Naive: the integer sum, then one fused multiply-add.
                    var expected = [Float](repeating: 0, count: rows * columns)
                    for r in 0..<rows {
                        for c in 0..<columns {
                            var acc = 0
                            for k in 0..<width { acc += Int(m.values[c * width + k]) * Int(q[r * 4 * k4 + k]) }
                            expected[r * columns + c] = start[r * columns + c].addingProduct(Float(acc), scales[r] * m.scales[c])
                        }
                    }
                    for isa in Self.variants {
                        var out = [Float](repeating: .nan, count: rows * columns)
                        let status = m.packed.withMatrix { w in
                            q.withUnsafeBufferPointer { qp in scales.withUnsafeBufferPointer { sp in start.withUnsafeBufferPointer { st in
                                out.withUnsafeMutableBufferPointer { op in
                                    var args = rnnk_i8_product_args(rows: Int32(rows), columns: Int32(columns), a: qp.baseAddress,
                                                                    a_stride: 4 * k4, a_scale: sp.baseAddress, w: w,
                                                                    start: st.baseAddress, start_stride: columns,
                                                                    out: op.baseAddress, out_stride: columns)
                                    return rnnk_i8_product(isa.c, &args)
                                }
                            } } }
                        }
                        #expect(status == RNNK_OK)
                        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern),
                                "\(isa): rows \(rows), columns \(columns), width \(width)")
                        checked += 1
                    }
                }
            }
        }
        print("int8 products: \(checked) shape x variant cases bit for bit (variants \(Self.variants))")
    }

    /// One step's inputs and weights: `rows` rows, `groups` groups of 8 units, `width` inputs.
    struct StepCase {
        var lstm: Bool
        var rows: Int, groups: Int, width: Int
        var first: Bool
        var x: [Float], h: [Float], c: [Float]
        var wx: (values: [Int8], scales: [Float], packed: Int8Matrix)
        var wh: (values: [Int8], scales: [Float], packed: Int8Matrix)
        var bias: [Float], biasHN: [Float]
        var units: Int { 8 * groups }
        var columns: Int { (lstm ? 32 : 24) * groups }

        init(lstm: Bool, rows: Int, groups: Int, width: Int, first: Bool, seed: UInt64) {
            var n = Numbers(state: seed)
            self.lstm = lstm; self.rows = rows; self.groups = groups; self.width = width; self.first = first
            let g = 8 * groups, z = (lstm ? 32 : 24) * groups
            x = (0..<(rows * width)).map { _ in n.float(-2...2) }
            h = (0..<(rows * g)).map { _ in n.float(-0.9...0.9) }
            c = (0..<(rows * g)).map { _ in n.float(-2...2) }
            wx = Int8StepTests.matrix(columns: z, width: width, &n)
            wh = Int8StepTests.matrix(columns: z, width: g, &n)
            bias = (0..<z).map { _ in n.float(-0.5...0.5) }
            biasHN = (0..<g).map { _ in n.float(-0.5...0.5) }
        }

        /// Runs the kernel: (h_out, c_out).
        func run(_ isa: Int8ISA) -> ([Float], [Float]) {
            let g = units
            var hOut = [Float](repeating: .nan, count: rows * g), cOut = c
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: Int8Step.scratchBytes(cell: lstm ? .lstm : .gru, groups: groups, xWidth: width), alignment: 64)
            defer { scratch.deallocate() }
            wx.packed.withMatrix { wxm in wh.packed.withMatrix { whm in
                x.withUnsafeBufferPointer { xp in h.withUnsafeBufferPointer { hp in bias.withUnsafeBufferPointer { bp in
                    biasHN.withUnsafeBufferPointer { bhn in hOut.withUnsafeMutableBufferPointer { ho in cOut.withUnsafeMutableBufferPointer { co in
                        var step = Int8Step(cell: lstm ? .lstm : .gru, rows: rows, groups: groups,
                                            x: width > 0 ? xp.baseAddress : nil, xStride: max(width, 1), wx: wxm,
                                            h: first ? nil : hp.baseAddress, hStride: g, wh: whm, bias: bp.baseAddress,
                                            hOut: ho.baseAddress!, hOutStride: g, scratch: scratch)
                        if lstm {
                            step.cPrevious = first ? nil : UnsafePointer(co.baseAddress)  // in place
                            step.cOut = co.baseAddress
                            step.cStride = g
                        } else {
                            step.biasHN = bhn.baseAddress
                        }
                        step.run(isa)
                    } } }
                } } }
            } }
            return (hOut, lstm ? cOut : [])
        }

        /// Pre-activation column of gate `gate` of unit `u`.
        func column(_ gate: Int, _ u: Int) -> Int { (u / 8) * (lstm ? 32 : 24) + 8 * gate + u % 8 }

        /// The step in float64 on the kernel's own integers: quantize (the spec's rule, binary32), exact
        /// sums, then scales, biases and gates in Double. `dequantized`: the float evaluation instead
        /// (dequantized weights, unquantized x and h), for the error bound. Returns (h, c, z rows).
        func reference(dequantized: Bool = false) -> ([Double], [Double], [[Double]]) {
            let g = units
            var hOut = [Double](repeating: 0, count: rows * g), cOut = hOut
            var zs: [[Double]] = []
            func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
            for r in 0..<rows {
                let xr = Array(x[(r * width)..<((r + 1) * width)]), hr = first ? [Float](repeating: 0, count: g) : Array(h[(r * g)..<((r + 1) * g)])
                let (qx, sx) = Int8StepTests.quantize(xr), (qh, sh) = Int8StepTests.quantize(hr)
                // term(c) of a matrix: (s_a S[c]) sum q_w q_a, or the dequantized product.
                func term(_ m: (values: [Int8], scales: [Float], packed: Int8Matrix), _ a: [Float], _ qa: [Int8], _ sa: Float, _ c: Int, _ n: Int) -> Double {
                    if dequantized { return (0..<n).reduce(0.0) { $0 + Double(Float(m.values[c * n + $1]) * m.scales[c]) * Double(a[$1]) } }
                    let acc = (0..<n).reduce(0) { $0 + Int(m.values[c * n + $1]) * Int(qa[$1]) }
                    return Double(sa * m.scales[c]) * Double(acc)
                }
                var z = [Double](repeating: 0, count: columns), hn = [Double](repeating: 0, count: g)
                for col in 0..<columns {
                    let hterm = first ? 0 : term(wh, hr, qh, sh, col, g)
                    z[col] = Double(bias[col]) + term(wx, xr, qx, sx, col, width)
                    if lstm || (col % 24) < 16 { z[col] += hterm } else { hn[(col / 24) * 8 + col % 8] = hterm }
                }
                zs.append(z)
                for u in 0..<g {
                    if lstm {
                        let i = sigmoid(z[column(0, u)]), f = sigmoid(z[column(1, u)]), gg = tanh(z[column(2, u)]), o = sigmoid(z[column(3, u)])
                        let cell = (first ? 0 : f * Double(c[r * g + u])) + i * gg
                        cOut[r * g + u] = cell
                        hOut[r * g + u] = o * tanh(cell)
                    } else {
                        let rg = sigmoid(z[column(0, u)]), zg = sigmoid(z[column(1, u)])
                        let n = tanh(z[column(2, u)] + rg * (hn[u] + Double(biasHN[u])))
                        hOut[r * g + u] = n + zg * (Double(hr[u]) - n)
                    }
                }
            }
            return (hOut, lstm ? cOut : [], zs)
        }
    }

    static let stepCases: [(lstm: Bool, rows: Int, groups: Int, width: Int, first: Bool)] = [
        (true, 1, 1, 28, false), (true, 7, 2, 28, false), (true, 17, 3, 5, false), (true, 40, 4, 33, true),
        (true, 33, 5, 64, false), (true, 13, 16, 28, false), (true, 3, 1, 0, false),
        (false, 1, 1, 28, false), (false, 7, 2, 13, false), (false, 17, 3, 40, true), (false, 40, 5, 64, false),
        (false, 33, 4, 3, false),
    ]

    /// Tolerance of a state against the float64 reference on the same integers: the binary32 roundings
    /// of z (a few ulps of |z| <= 10, about 1e-6), the polynomial sigmoid and tanh (1e-6 each, StepKernelTests)
    /// and of the state update: 1e-5 leaves a margin of about 3x.
    static let tolerance = 1e-5

    @Test func stepsAgreeWithAFloat64ReferenceOnTheSameIntegersOnEveryVariant() {
        for (n, shape) in Self.stepCases.enumerated() {
            let step = StepCase(lstm: shape.lstm, rows: shape.rows, groups: shape.groups, width: shape.width, first: shape.first, seed: UInt64(100 + n))
            let (h, c, _) = step.reference()
            var worst = 0.0
            for isa in Self.variants {
                let (hk, ck) = step.run(isa)
                for i in h.indices { worst = max(worst, abs(Double(hk[i]) - h[i])) }
                for i in c.indices { worst = max(worst, abs(Double(ck[i]) - c[i])) }
            }
            #expect(worst < Self.tolerance, "case \(n) \(shape): \(worst)")
        }
    }

    @Test func aRowsResultDoesNotDependOnTheOtherRowsOrTheChunk() {
        // 40 rows run as chunks of 16, 16 and 8; each row alone must give the same bits.
        for lstm in [true, false] {
            let all = StepCase(lstm: lstm, rows: 40, groups: 3, width: 28, first: false, seed: 5)
            for isa in Self.variants {
                let (h, _) = all.run(isa)
                for r in [0, 15, 16, 31, 39] {
                    var one = all
                    one.rows = 1
                    one.x = Array(all.x[(r * 28)..<((r + 1) * 28)])
                    one.h = Array(all.h[(r * 24)..<((r + 1) * 24)])
                    one.c = Array(all.c[(r * 24)..<((r + 1) * 24)])
                    #expect(one.run(isa).0.map(\.bitPattern) == Array(h[(r * 24)..<((r + 1) * 24)]).map(\.bitPattern), "\(isa) row \(r)")
                }
            }
        }
    }

    @Test func preActivationsStayWithinTheSpecsBoundOfTheFloatEvaluation() {
        // §6.6: |Δz[c]| <= (s_x / 2) sum_k |W_ih[c][k]| + (s_h / 2) sum_k |W_hh[c][k]| (+ binary32 rounding).
        var tightest = 0.0
        for (n, shape) in Self.stepCases.enumerated() where !shape.first {
            let step = StepCase(lstm: shape.lstm, rows: shape.rows, groups: shape.groups, width: shape.width, first: false, seed: UInt64(300 + n))
            let (_, _, zInt8) = step.reference(), (_, _, zFloat) = step.reference(dequantized: true)
            let g = step.units
            for r in 0..<step.rows {
                let sx = Double(Self.quantize(Array(step.x[(r * step.width)..<((r + 1) * step.width)])).scale)
                let sh = Double(Self.quantize(Array(step.h[(r * g)..<((r + 1) * g)])).scale)
                for col in 0..<step.columns {
                    let rowX = (0..<step.width).reduce(0.0) { $0 + abs(Double(Float(step.wx.values[col * step.width + $1]) * step.wx.scales[col])) }
                    let rowH = (0..<g).reduce(0.0) { $0 + abs(Double(Float(step.wh.values[col * g + $1]) * step.wh.scales[col])) }
                    let bound = sx / 2 * rowX + sh / 2 * rowH
                    let diff = abs(zInt8[r][col] - zFloat[r][col])
                    #expect(diff <= bound * (1 + 1e-5) + 1e-6, "case \(n) row \(r) column \(col): \(diff) > \(bound)")
                    if bound > 0 { tightest = max(tightest, diff / bound) }
                }
            }
        }
        print("int8 pre-activations: largest |Δz| / bound = \(tightest)")
        #expect(tightest > 0.01, "the bound is not vacuous: some differences come near it")
    }

    @Test func badArgumentsAreRefusedBeforeAnyWrite() {
        var step = StepCase(lstm: true, rows: 4, groups: 1, width: 8, first: false, seed: 9)
        #expect(rnnk_lstm_step_i8(rnnk_i8_isa(rawValue: 2), nil) == RNNK_UNAVAILABLE)
        #expect(rnnk_lstm_step_i8(RNNK_I8_PORTABLE, nil) == RNNK_NULL_POINTER)
        #expect(rnnk_i8_isa_available(rnnk_i8_isa(rawValue: 7)) == 0)
        // h_out on top of x: an overlap, refused with nothing written.
        step.x = [Float](repeating: 0.25, count: 64)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Int8Step.scratchBytes(cell: .lstm, groups: 1, xWidth: 8), alignment: 64)
        defer { scratch.deallocate() }
        var c = [Float](repeating: 0, count: 32)
        let status = step.wx.packed.withMatrix { wx in step.wh.packed.withMatrix { wh in
            step.x.withUnsafeMutableBufferPointer { xp in step.bias.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                var args = rnnk_i8_step_args(rows: 4, groups: 1, x: xp.baseAddress, x_stride: 8, x_width: 8, wx: wx,
                                             h: nil, h_stride: 8, wh: wh, bias: bp.baseAddress, bias_hn: nil, z_in: nil, z_in_stride: 0,
                                             c_prev: nil, c_out: cp.baseAddress, c_stride: 8,
                                             h_out: xp.baseAddress! + 8, h_out_stride: 8, scratch: scratch)
                let overlap = rnnk_lstm_step_i8(RNNK_I8_PORTABLE, &args)
                args.h_out_stride = 4
                let layout = rnnk_lstm_step_i8(RNNK_I8_PORTABLE, &args)
                return (overlap, layout)
            } } }
        } }
        #expect(status == (RNNK_OVERLAP, RNNK_BAD_LAYOUT))
        #expect(step.x.allSatisfy { $0 == 0.25 } && c.allSatisfy { $0 == 0 }, "nothing written")
    }
}
