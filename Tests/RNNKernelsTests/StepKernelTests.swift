import Foundation
import RNNKernels
import Testing

/// The fused step's activations against libm, through the kernel itself: with one input whose
/// weight is 1 in every gate column and zero bias, `z = v` in all four gates, so the kernel's
/// `gates_out` holds `sigmoid(v)` (i, f, o) and `tanh(v)` (g), and `c`, `h` follow from them.
struct StepKernelTests {
    static let variants = [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON].filter { rnnk_isa_available($0) != 0 }

    @Test func gateActivationsMatchLibmWithin1e6OverTheWholeRange() {
        let values = stride(from: -30.0, through: 30.0, by: 0.0137).map(Float.init) + [0, -0.0, 1e-8, -1e-8, 88, -88]
        let rows = values.count
        let weights = [Float](repeating: 1, count: 32)      // x_width 1, one group of 8 units
        let bias = [Float](repeating: 0, count: 32)
        // Each row feeds its value to all 8 units.
        for isa in Self.variants {
            var c = [Float](repeating: 0, count: rows * 8), h = c, gates = [Float](repeating: 0, count: rows * 32)
            let status = values.withUnsafeBufferPointer { x in weights.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { cp in
                    h.withUnsafeMutableBufferPointer { hp in gates.withUnsafeMutableBufferPointer { gp in
                        var args = rnnk_lstm_step_args(
                            rows: Int32(rows), groups: 1, x: x.baseAddress, x_stride: 1, x_width: 1, wx: w.baseAddress,
                            h: nil, h_stride: 0, h_width: 0, wh: nil, bias: b.baseAddress,
                            c_prev: nil, c_out: cp.baseAddress, c_stride: 8, h_out: hp.baseAddress, h_out_stride: 8,
                            gates_out: gp.baseAddress, gates_stride: 32, gates_hidden: 8, cell_tanh_out: nil,
                            z_in: nil, z_in_stride: 0)
                        return rnnk_lstm_step(isa, &args)
                    } }
                } }
            } }
            #expect(status == 0)
            var worstSigmoid = 0.0, worstTanh = 0.0, worstState = 0.0
            for (r, v) in values.enumerated() {
                let sigmoid = 1 / (1 + exp(-Double(v))), tanhV = tanh(Double(v))
                for unit in 0..<8 {
                    let gate = { (k: Int) in Double(gates[r * 32 + k * 8 + unit]) }  // gate-major: i, f, g, o
                    for k in [0, 1, 3] { worstSigmoid = max(worstSigmoid, abs(gate(k) - sigmoid)) }
                    worstTanh = max(worstTanh, abs(gate(2) - tanhV))
                    // c = i g (c_prev = 0), h = o tanh(c), from the kernel's own gates.
                    let i = gate(0), g = gate(2), o = gate(3)
                    worstState = max(worstState, abs(Double(c[r * 8 + unit]) - i * g), abs(Double(h[r * 8 + unit]) - o * tanh(i * g)))
                }
            }
            print("fused \(isa.rawValue): max |sigmoid - libm| \(worstSigmoid), |tanh - libm| \(worstTanh), c/h \(worstState)")
            #expect(worstSigmoid < 1e-6, "isa \(isa.rawValue): sigmoid \(worstSigmoid)")
            #expect(worstTanh < 1e-6, "isa \(isa.rawValue): tanh \(worstTanh)")
            #expect(worstState < 2e-6, "isa \(isa.rawValue): c, h \(worstState)")
        }
    }

    @Test func aVariantTheCPULacksIsRefused() {
        var args = rnnk_lstm_step_args()
        #expect(rnnk_lstm_step(rnnk_isa(rawValue: 7), &args) == -1)
        if rnnk_detect_isa() != RNNK_ISA_AVX512 { #expect(rnnk_lstm_step(RNNK_ISA_AVX512, &args) == -1) }
        // The other architecture's variants (NEON on x86-64, AVX2 and AVX-512 on ARM64) are never available.
        for isa in [RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON] where rnnk_isa_available(isa) == 0 {
            #expect(rnnk_lstm_step(isa, &args) == -1, "isa \(isa.rawValue)")
        }
        #if arch(x86_64)
        #expect(rnnk_isa_available(RNNK_ISA_NEON) == 0)
        #elseif arch(arm64)
        #expect(rnnk_isa_available(RNNK_ISA_AVX2) == 0 && rnnk_isa_available(RNNK_ISA_AVX512) == 0)
        #endif
    }
}
