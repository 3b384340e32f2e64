import Foundation
import Testing
@testable import RNNCore

@Suite("Activations: lane and scalar forms")
struct ActivationFormTests {
    /// Inputs over the whole clamped range and beyond, dense near 0 where tanh's subtraction matters.
    static let sweep: [Float] = stride(from: -100.0, through: 100.0, by: 0.0137).map { Float($0) }
        + stride(from: -1.0, through: 1.0, by: 1e-4).map { Float($0) }

    @Test("the lane and scalar forms of exp, sigmoid and tanh agree bit for bit")
    func laneEqualsScalar() {
        for start in stride(from: 0, to: Self.sweep.count - 8, by: 8) {
            let lanes = Lanes(Self.sweep[start..<(start + 8)])
            let e = fastExp(lanes), s = fastSigmoid(lanes), t = fastTanh(lanes)
            for k in 0..<8 {
                let x = lanes[k]
                #expect(e[k].bitPattern == fastExp(x).bitPattern, "exp(\(x))")
                #expect(s[k].bitPattern == fastSigmoid(x).bitPattern, "sigmoid(\(x))")
                #expect(t[k].bitPattern == fastTanh(x).bitPattern, "tanh(\(x))")
            }
        }
    }
}

@Suite("Gate layout")
struct GateLayoutTests {
    /// The LSTM's interleaved layout (4 gates i, f, g, o) and the GRU's (3 gates r, z, n).
    struct Layout {
        let name: String, gates: Int
        let row: (_ gate: Int, _ unit: Int) -> Int
        let interleave: (_ m: [Double], _ hidden: Int, _ padded: Int, _ columns: Int, _ stride: Int) -> [Float]
    }

    static var layouts: [Layout] {
        [Layout(name: "LSTM", gates: 4, row: { GateLayout.row(gate: $0, unit: $1) },
                interleave: { GateLayout.interleave($0, hidden: $1, padded: $2, columns: $3, stride: $4) }),
         Layout(name: "GRU", gates: 3, row: { GateLayout.gruRow(gate: $0, unit: $1) },
                interleave: { GateLayout.interleaveGRU($0, hidden: $1, padded: $2, columns: $3, stride: $4) })]
    }

    @Test("interleaved rows are a permutation of the padded gate rows, 8 units per group")
    func rows() {
        #expect(GateLayout.paddedHidden(1) == 8)
        #expect(GateLayout.paddedHidden(128) == 128)
        #expect(GateLayout.paddedHidden(129) == 136)
        #expect(GateLayout.row(gate: 0, unit: 0) == 0)
        #expect(GateLayout.row(gate: 1, unit: 0) == 8)
        #expect(GateLayout.row(gate: 3, unit: 7) == 31)
        #expect(GateLayout.row(gate: 0, unit: 8) == 32)
        #expect(GateLayout.gruRow(gate: 1, unit: 0) == 8)
        #expect(GateLayout.gruRow(gate: 2, unit: 7) == 23)
        #expect(GateLayout.gruRow(gate: 0, unit: 8) == 24)
        #expect(GateLayout.gruRow(gate: 2, unit: 12) == 24 + 16 + 4)
        for layout in Self.layouts {
            let h = 20, padded = GateLayout.paddedHidden(h)
            let rows = (0..<layout.gates).flatMap { g in (0..<h).map { layout.row(g, $0) } }
            #expect(Set(rows).count == layout.gates * h && rows.allSatisfy { $0 < layout.gates * padded }, "\(layout.name)")
        }
    }

    @Test("interleave moves each gate row and zero-pads units and columns")
    func interleave() {
        for layout in Self.layouts {
            let h = 3, columns = 2, padded = 8, stride = 4, gates = layout.gates
            let m = (0..<(gates * h * columns)).map(Double.init)
            let out = layout.interleave(m, h, padded, columns, stride)
            #expect(out.count == gates * padded * stride, "\(layout.name)")
            for g in 0..<gates {
                for u in 0..<h {
                    let r = layout.row(g, u)
                    #expect(out[r * stride] == Float(m[(g * h + u) * columns]), "\(layout.name)")
                    #expect(out[r * stride + 1] == Float(m[(g * h + u) * columns + 1]), "\(layout.name)")
                    #expect(out[r * stride + 2] == 0 && out[r * stride + 3] == 0, "\(layout.name)")
                }
            }
            #expect(out.filter { $0 != 0 }.count == gates * h * columns - 1, "\(layout.name)")  // m[0] is 0
        }
    }

    @Test("packGateMajor equals interleave followed by pack when no padding is needed")
    func packing() {
        let h = 16, columns = 5
        let w = (0..<(4 * h * columns)).map { Float($0) * 0.25 }
        let direct = w.withUnsafeBufferPointer { GateLayout.packGateMajor($0.baseAddress!, hidden: h, columns: columns) }
        let twoSteps = GateLayout.pack(GateLayout.interleave(w.map(Double.init), hidden: h, padded: h, columns: columns, stride: columns),
                                       rows: 4 * h, columns: columns)
        #expect(direct == twoSteps)
        #expect(direct.sorted() == w.sorted())
    }
}

@Suite("Packed batches")
struct PackedBatchTests {
    @Test("sorted longest first, ties in caller order; active rows are a prefix; offsets add up")
    func packing() {
        let batch = PackedBatch(lengths: [2, 5, 0, 5, 1])
        #expect(batch.order == [1, 3, 0, 4, 2])
        #expect(batch.lengths == [5, 5, 2, 1, 0])
        #expect(batch.active == [4, 3, 2, 2, 2])
        #expect(batch.offsets == [0, 4, 7, 9, 11])
        #expect(batch.total == 13)
        #expect(batch.steps == 5)
        #expect(batch.lastRow(0) == 11 && batch.lastRow(2) == 4 + 2 - 1 + 0 + 1 && batch.lastRow(3) == 3)
    }

    @Test("equal lengths keep the caller's order and pack as t * count + b")
    func uniform() {
        let batch = PackedBatch(count: 3, length: 4)
        #expect(batch.order == [0, 1, 2])
        #expect(batch.offsets == [0, 3, 6, 9])
        #expect(batch.total == 12)
        #expect((0..<3).map(batch.lastRow) == [9, 10, 11])
    }

    @Test("an empty batch has no steps")
    func empty() {
        let batch = PackedBatch(lengths: [])
        #expect(batch.steps == 0 && batch.total == 0 && batch.count == 0)
    }
}

@Suite("Random")
struct RandomTests {
    @Test("SplitMix64 and xoshiro256** reproduce their published first outputs")
    func knownValues() {
        var s = SplitMix64(seed: 0)
        #expect(s.next() == 0xE220_A839_7B1D_CDAF)
        var x = Xoshiro256StarStar(seed: 0)
        let first = x.next()
        var y = Xoshiro256StarStar(seed: 0)
        #expect(y.next() == first)
        #expect(x.nextInt(below: 10) < 10)
    }
}

@Suite("KernelISA: the variants this CPU runs")
struct KernelISATests {
    @Test("supported lists only this architecture's available variants: none first, detected last")
    func supportedIsWhatThisCPURuns() {
        let supported = KernelISA.supported
        #expect(supported.first == KernelISA.none)
        #expect(supported.last == KernelISA.detected)
        for isa in KernelISA.allCases { #expect(supported.contains(isa) == isa.isAvailable, "\(isa)") }
        #if arch(x86_64)
        #expect(!supported.contains(.neon))
        #elseif arch(arm64)
        #expect(!supported.contains(.avx2) && !supported.contains(.avx512))
        #endif
        for isa in KernelISA.allCases { #expect(KernelISA(isa.c) == isa) }
    }
}
