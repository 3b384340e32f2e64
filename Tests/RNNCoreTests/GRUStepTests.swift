import Foundation
import RNNCore
import Testing

// The fused GRU step (GRUStep -> rnnk_gru_step) against PyTorch's nn.GRU equations in float64,
// through GateLayout's GRU layout, for every variant this CPU runs (.none, the portable C
// variant, always).
//
// Tolerance: |kernel - reference| <= 1e-5 * max(1, |reference|) for h_out, r, z, n and hn. The
// weights are PyTorch's initialization, U(-1/√H, 1/√H), rounded to binary32 (so both sides use
// the same values), inputs in [-1, 1]. A pre-activation is a binary32 sum of K <= 71 terms (5
// folded + 28 inputs + 37 state + bias) whose magnitudes add up to S of a few units; its error
// is about √K u S ≈ 8.4 * 6e-8 * 4 ≈ 2e-6 (rounding errors add like independent variables,
// Higham & Mary 2019, as in GoldenTests/Tolerance.swift). σ' <= 1/4 and tanh' <= 1 pass it on,
// the polynomial sigmoid and tanh add at most 1e-6 (StepKernelTests), and h_out = n + z (h - n)
// a few ulps: a few 1e-6 in all, so 1e-5 holds with room. (Measured: at most 2.6e-7.) A wrong
// formula (the other reset mode, a gate swapped, a missing bias) is off by 1e-2 or more.

/// A GRU layer in PyTorch's layout (`weight_ih_l0` `[3H, inputs]`, rows r, z, n; `weight_hh_l0`
/// `[3H, H]`; `bias_ih_l0`, `bias_hh_l0` `[3H]`), values binary32 numbers held as Double.
struct PyTorchGRU {
    let hidden: Int, inputs: Int
    var wih: [Double], whh: [Double], bih: [Double], bhh: [Double]

    init(hidden: Int, inputs: Int, seed: UInt64, biasHN: Bool = true) {
        self.hidden = hidden
        self.inputs = inputs
        var random = Xoshiro256StarStar(seed: seed)
        let k = 1 / Double(hidden).squareRoot()
        let draw = { (n: Int) in (0..<n).map { _ in Double(Float(random.nextDouble(in: -k, k))) } }
        wih = draw(3 * hidden * inputs)
        whh = draw(3 * hidden * hidden)
        bih = draw(3 * hidden)
        bhh = draw(3 * hidden)
        if !biasHN { for u in 0..<hidden { bhh[2 * hidden + u] = 0 } }
    }

    /// What one step computes for one row, gate-major like the kernel's `gates_out`.
    struct Step {
        var h: [Double], r: [Double], z: [Double], n: [Double], hn: [Double]
    }

    /// nn.GRU's step, written out: `x` `[inputs]`, `h` `[H]` (zeros at the first step).
    func step(_ x: [Double], _ h: [Double], resetAfter: Bool) -> Step {
        let H = hidden
        func input(_ row: Int) -> Double { (0..<inputs).reduce(0) { $0 + wih[row * inputs + $1] * x[$1] } }
        func recurrent(_ row: Int, _ v: [Double]) -> Double { (0..<H).reduce(0) { $0 + whh[row * H + $1] * v[$1] } }
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        let r = (0..<H).map { u in sigmoid(input(u) + bih[u] + recurrent(u, h) + bhh[u]) }
        let z = (0..<H).map { u in sigmoid(input(H + u) + bih[H + u] + recurrent(H + u, h) + bhh[H + u]) }
        var n = [Double](repeating: 0, count: H), hn = n, out = n
        let rh = (0..<H).map { r[$0] * h[$0] }
        for u in 0..<H {
            if resetAfter {
                // n = tanh(x W_in + b_in + r * (h W_hn + b_hn)); hn = h W_hn + b_hn.
                hn[u] = recurrent(2 * H + u, h) + bhh[2 * H + u]
                n[u] = tanh(input(2 * H + u) + bih[2 * H + u] + r[u] * hn[u])
            } else {
                // n = tanh(x W_in + b_in + (r * h) W_hn + b_hn); hn = (r * h) W_hn.
                hn[u] = recurrent(2 * H + u, rh)
                n[u] = tanh(input(2 * H + u) + bih[2 * H + u] + hn[u] + bhh[2 * H + u])
            }
            out[u] = (1 - z[u]) * n[u] + z[u] * h[u]
        }
        return Step(h: out, r: r, z: z, n: n, hn: hn)
    }
}

/// Floats at a fixed address for a test's duration (the kernel takes raw pointers).
final class Floats {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }

    convenience init(count: Int) { self.init([Float](repeating: .nan, count: count)) }

    deinit { pointer.deallocate() }

    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A layer in the kernel's layout with inputs for up to 13 rows. The first `folded` inputs reach
/// the kernel through `z_in` (as a text model's folded embedding table would), the rest as `x`.
final class GRUKernelCase {
    static let maxRows = 13
    let gru: PyTorchGRU
    let resetAfter: Bool, folded: Int, passBiasHN: Bool
    let padded: Int, groups: Int, xWidth: Int
    // Strides wider than the rows, to catch a kernel that assumes tight rows.
    let xStride: Int, hStride: Int, hOutStride: Int, zInStride: Int, gatesStride: Int
    let wx: Floats, wh: Floats, biasX: Floats, biasHN: Floats
    /// The rows' full inputs (folded ones first) and states, as the reference sees them.
    let inputs: [[Double]], states: [[Double]]
    /// The same, laid out for the kernel.
    let x: Floats, h: Floats, zIn: Floats

    init(hidden: Int, xWidth: Int, folded: Int, resetAfter: Bool, passBiasHN: Bool = true, seed: UInt64 = 1) {
        gru = PyTorchGRU(hidden: hidden, inputs: folded + xWidth, seed: seed &+ UInt64(hidden * 1000 + xWidth * 10 + folded),
                         biasHN: passBiasHN)
        self.resetAfter = resetAfter
        self.folded = folded
        self.passBiasHN = passBiasHN
        self.xWidth = xWidth
        let H = hidden, P = GateLayout.paddedHidden(hidden), rows = Self.maxRows
        padded = P
        groups = P / 8
        xStride = xWidth + 3
        hStride = P + 2
        hOutStride = P + 1
        zInStride = 3 * P + 5
        gatesStride = 4 * P + 3

        // Bias columns: r b_ir + b_hr, z b_iz + b_hz, n b_in (+ b_hn when reset before).
        let gru = self.gru
        let bias = (0..<(3 * H)).map { gru.bih[$0] + ($0 < 2 * H || !resetAfter ? gru.bhh[$0] : 0) }
        let inputColumns = (0..<(3 * H)).flatMap { row in (folded..<gru.inputs).map { gru.wih[row * gru.inputs + $0] } }
        wx = Floats(GateLayout.packGRU(GateLayout.interleaveGRU(inputColumns, hidden: H, padded: P, columns: xWidth, stride: xWidth),
                                       rows: 3 * P, columns: xWidth))
        wh = Floats(GateLayout.packGRU(GateLayout.interleaveGRU(gru.whh, hidden: H, padded: P, columns: H, stride: P),
                                       rows: 3 * P, columns: P))
        biasX = Floats(GateLayout.interleaveGRU(bias, hidden: H, padded: P, columns: 1, stride: 1))
        biasHN = Floats((0..<P).map { $0 < H ? Float(gru.bhh[2 * H + $0]) : 0 })

        var random = Xoshiro256StarStar(seed: seed &* 7919)
        let inputs = (0..<rows).map { _ in (0..<gru.inputs).map { _ in Double(Float(random.nextDouble(in: -1, 1))) } }
        let states = (0..<rows).map { _ in (0..<H).map { _ in Double(Float(random.nextDouble(in: -1, 1))) } }
        self.inputs = inputs
        self.states = states
        var xs = [Float](repeating: .nan, count: rows * xStride), hs = [Float](repeating: .nan, count: rows * hStride)
        var zs = [Float](repeating: .nan, count: rows * zInStride)
        for r in 0..<rows {
            for k in 0..<xWidth { xs[r * xStride + k] = Float(inputs[r][folded + k]) }
            for u in 0..<P { hs[r * hStride + u] = u < H ? Float(states[r][u]) : 0 }
            // The folded part of the input projection, plus the bias, as z_in's starting values.
            let start = (0..<(3 * H)).map { row in
                (0..<folded).reduce(bias[row]) { $0 + gru.wih[row * gru.inputs + $1] * inputs[r][$1] }
            }
            let interleaved = GateLayout.interleaveGRU(start, hidden: H, padded: P, columns: 1, stride: 1)
            for c in 0..<(3 * P) { zs[r * zInStride + c] = interleaved[c] }
        }
        x = Floats(xs)
        h = Floats(hs)
        zIn = Floats(zs)
    }

    /// What the kernel wrote for `rows` rows: h_out `[rows][P]` and gates `[rows][4P]`, tight.
    struct Output: Equatable {
        var h: [Float], gates: [Float]
        var bits: [UInt32] { (h + gates).map(\.bitPattern) }
    }

    /// Runs the step for rows `first ..< first + rows`, from `h` (or from zero at the first step).
    func run(_ isa: KernelISA, rows: Int, from first: Int = 0, firstStep: Bool) -> Output {
        let P = padded
        let hOut = Floats(count: max(rows, 1) * hOutStride), gates = Floats(count: max(rows, 1) * gatesStride)
        let scratch = Floats(count: max(rows, 1) * 3 * P)
        var step = GRUStep(rows: rows, groups: groups,
                           x: xWidth > 0 ? UnsafePointer(x.pointer + first * xStride) : nil, xStride: xStride, xWidth: xWidth,
                           wx: xWidth > 0 ? UnsafePointer(wx.pointer) : nil,
                           h: firstStep ? nil : UnsafePointer(h.pointer + first * hStride), hStride: hStride,
                           wh: UnsafePointer(wh.pointer),
                           biasX: UnsafePointer(biasX.pointer), biasHN: passBiasHN ? UnsafePointer(biasHN.pointer) : nil,
                           resetAfter: resetAfter, hOut: hOut.pointer, hOutStride: hOutStride)
        step.scratch = scratch.pointer
        if folded > 0 {
            step.zIn = UnsafePointer(zIn.pointer + first * zInStride)
            step.zInStride = zInStride
            step.biasX = nil
        }
        step.gatesOut = gates.pointer
        step.gatesStride = gatesStride
        step.gatesHidden = P
        step.run(isa)
        let hv = hOut.values, gv = gates.values
        return Output(h: (0..<rows).flatMap { r in hv[(r * hOutStride)..<(r * hOutStride + P)] },
                      gates: (0..<rows).flatMap { r in gv[(r * gatesStride)..<(r * gatesStride + 4 * P)] })
    }

    /// The reference for row `r`.
    func reference(row r: Int, firstStep: Bool) -> PyTorchGRU.Step {
        gru.step(inputs[r], firstStep ? [Double](repeating: 0, count: gru.hidden) : states[r], resetAfter: resetAfter)
    }

    /// The largest error of `output` (rows from 0) against the reference, and whether every padded
    /// unit's h_out is exactly 0 (their state, 0 in `h` too, stays 0; see GateLayout.interleaveGRU).
    func worstError(_ output: Output, rows: Int, firstStep: Bool) -> (error: Double, paddingZero: Bool) {
        let P = padded, H = gru.hidden
        var worst = 0.0, paddingZero = true
        for r in 0..<rows {
            let expected = reference(row: r, firstStep: firstStep)
            let blocks = [expected.h, expected.r, expected.z, expected.n, expected.hn]
            for u in 0..<H {
                let actual = [output.h[r * P + u]] + (0..<4).map { output.gates[r * 4 * P + $0 * P + u] }
                for (a, e) in zip(actual, blocks.map { $0[u] }) {
                    worst = max(worst, abs(Double(a) - e) / max(1, abs(e)))
                }
            }
            paddingZero = paddingZero && (H..<P).allSatisfy { output.h[r * P + $0] == 0 }
        }
        return (worst, paddingZero)
    }
}

@Suite("GRU step: the fused kernel against nn.GRU in float64")
struct GRUStepTests {
    static let tolerance = 1e-5
    static let rowCounts = [0, 1, 2, 3, 4, 7, 13]

    /// Hidden sizes 8, 13 (padded 16), 20 (24), 37 (40): 1, 2, 3, 5 groups; inputs 0 (z_in only),
    /// 1, 7, 28, each with and without 5 inputs folded into z_in; b_hn NULL at hidden 13.
    struct Shape: CustomTestStringConvertible, Sendable {
        let hidden: Int, xWidth: Int, folded: Int
        var testDescription: String { "H \(hidden), x_width \(xWidth), folded \(folded)" }
    }

    static let shapes: [Shape] = [8, 13, 20, 37].flatMap { hidden in
        [0, 1, 7, 28].flatMap { xWidth in
            (xWidth == 0 ? [5] : [0, 5]).map { Shape(hidden: hidden, xWidth: xWidth, folded: $0) }
        }
    }

    @Test("every variant, both reset modes, first and later steps, 0 to 13 rows, within 1e-5", arguments: shapes)
    func matchesTheReference(_ shape: Shape) {
        var worst = 0.0
        defer { print("GRU step, \(shape.testDescription): largest error \(worst)") }
        for resetAfter in [true, false] {
            let c = GRUKernelCase(hidden: shape.hidden, xWidth: shape.xWidth, folded: shape.folded, resetAfter: resetAfter,
                                  passBiasHN: shape.hidden != 13)
            for isa in KernelISA.supported {
                for firstStep in [true, false] {
                    for rows in Self.rowCounts {
                        let output = c.run(isa, rows: rows, firstStep: firstStep)
                        let (error, paddingZero) = c.worstError(output, rows: rows, firstStep: firstStep)
                        worst = max(worst, error)
                        let label = "\(isa), reset_after \(resetAfter), first step \(firstStep), rows \(rows)"
                        #expect(error <= Self.tolerance, "\(label): error \(error)")
                        #expect(paddingZero, "\(label): a padded unit's h is not 0")
                    }
                }
            }
        }
    }

    @Test("a row alone gives the same bits as that row in a batch of 13")
    func rowsAreIndependentOfTheBatch() {
        for shape in [Shape(hidden: 37, xWidth: 28, folded: 0), Shape(hidden: 20, xWidth: 0, folded: 5),
                      Shape(hidden: 13, xWidth: 7, folded: 5)] {
            for resetAfter in [true, false] {
                let c = GRUKernelCase(hidden: shape.hidden, xWidth: shape.xWidth, folded: shape.folded, resetAfter: resetAfter)
                for isa in KernelISA.supported {
                    for firstStep in [true, false] {
                        let batch = c.run(isa, rows: GRUKernelCase.maxRows, firstStep: firstStep)
                        let P = c.padded
                        for r in 0..<GRUKernelCase.maxRows {
                            let alone = c.run(isa, rows: 1, from: r, firstStep: firstStep)
                            let inBatch = GRUKernelCase.Output(h: Array(batch.h[(r * P)..<((r + 1) * P)]),
                                                              gates: Array(batch.gates[(r * 4 * P)..<((r + 1) * 4 * P)]))
                            #expect(alone.bits == inBatch.bits, "\(shape.testDescription), \(isa), reset_after \(resetAfter), row \(r)")
                        }
                    }
                }
            }
        }
    }

    @Test("the vector variants agree with the portable one within 1e-6",
          .enabled(if: KernelISA.supported.count > 1, "no vector variant on this CPU"))
    func variantsAgree() {
        var worst = 0.0
        for shape in Self.shapes {
            for resetAfter in [true, false] {
                let c = GRUKernelCase(hidden: shape.hidden, xWidth: shape.xWidth, folded: shape.folded, resetAfter: resetAfter)
                for firstStep in [true, false] {
                    let portable = c.run(.none, rows: 13, firstStep: firstStep)
                    for isa in KernelISA.supported.dropFirst() {
                        let vector = c.run(isa, rows: 13, firstStep: firstStep)
                        for (a, b) in zip(portable.h + portable.gates, vector.h + vector.gates) {
                            worst = max(worst, abs(Double(a) - Double(b)) / max(1, abs(Double(a))))
                        }
                    }
                }
            }
        }
        print("GRU step: largest difference between the portable and vector variants \(worst)")
        #expect(worst <= 1e-6)
    }

    @Test("steps chained: the state follows the reference over 5 steps and padded units stay 0")
    func aSequence() {
        for resetAfter in [true, false] {
            let c = GRUKernelCase(hidden: 13, xWidth: 7, folded: 0, resetAfter: resetAfter)
            let P = c.padded, H = 13, rows = 3
            for isa in KernelISA.supported {
                var state = Floats(count: rows * P)   // h[t-1] as the kernel left it
                var expected = [[Double]](repeating: [Double](repeating: 0, count: H), count: rows)
                for t in 0..<5 {
                    let hOut = Floats(count: rows * P), scratch = Floats(count: rows * 3 * P)
                    var step = GRUStep(rows: rows, groups: c.groups,
                                       x: UnsafePointer(c.x.pointer + t % 2 * c.xStride), xStride: c.xStride, xWidth: 7,
                                       wx: UnsafePointer(c.wx.pointer),
                                       h: t == 0 ? nil : UnsafePointer(state.pointer), hStride: P, wh: UnsafePointer(c.wh.pointer),
                                       biasX: UnsafePointer(c.biasX.pointer), biasHN: UnsafePointer(c.biasHN.pointer),
                                       resetAfter: resetAfter, hOut: hOut.pointer, hOutStride: P)
                    step.scratch = scratch.pointer
                    step.run(isa)
                    var worst = 0.0
                    let out = hOut.values
                    for r in 0..<rows {
                        expected[r] = c.gru.step(c.inputs[r + t % 2], expected[r], resetAfter: resetAfter).h
                        for u in 0..<H { worst = max(worst, abs(Double(out[r * P + u]) - expected[r][u])) }
                        #expect((H..<P).allSatisfy { out[r * P + $0] == 0 }, "\(isa) step \(t): padded unit not 0")
                    }
                    #expect(worst <= 2 * Self.tolerance, "\(isa), reset_after \(resetAfter), step \(t): error \(worst)")
                    state = hOut
                }
            }
        }
    }
}

@Suite("GRU gate layout")
struct GRUGateLayoutTests {
    @Test("packGRU makes one panel per group: group q's row r, column k at 24 q columns + 24 k + r % 24")
    func packing() {
        let padded = 16, columns = 3, rows = 3 * padded
        let interleaved = (0..<(rows * columns)).map { Float($0) }
        let packed = GateLayout.packGRU(interleaved, rows: rows, columns: columns)
        #expect(packed.sorted() == interleaved)
        for r in 0..<rows {
            for k in 0..<columns {
                #expect(packed[24 * (r / 24) * columns + 24 * k + r % 24] == interleaved[r * columns + k])
            }
        }
    }
}
