import RNNCore
import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

@Suite struct QuantizationTests {
    @Test func bf16RoundsToNearestEvenOnTheUpperHalf() {
        #expect(Tensor.bf16Bits(1.0) == 0x3F80)
        #expect(Tensor.bf16Bits(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)  // below half: down
        #expect(Tensor.bf16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(Tensor.bf16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(Tensor.bf16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above half: up
        #expect(Tensor.bf16Bits(-2.0) == 0xC000)
    }

    @Test func bf16OverflowIsAnError() {
        #expect(errorKind { _ = try Tensor.quantized(name: "w", shape: [1], values: [Float.greatestFiniteMagnitude], to: .bf16) } == .invalidTensor)
    }

    @Test func f16RoundsTiesToEvenAndRefusesOverflow() throws {
        let halfway = Float(1) + Float(1) / 2048         // between 1 and 1 + 2^-10
        let halfwayOdd = Float(1) + Float(3) / 2048      // between 1 + 2^-10 and 1 + 2^-9
        let t = try Tensor.quantized(name: "w", shape: [3], values: [halfway, halfwayOdd, 65504], to: .f16)
        #expect(t.storage == .f16([0x3C00, 0x3C02, 0x7BFF]))
        #expect(t.floatValues() == [1, 1 + Float(1) / 512, 65504])
        #expect(errorKind { _ = try Tensor.quantized(name: "w", shape: [1], values: [65520], to: .f16) } == .invalidTensor)
    }

    @Test func int8IsSymmetricPerRowWithTiesToEven() throws {
        // Row 0 has max |w| = 127, so its scale is exactly 1 and the rounding is visible.
        let t = try Tensor.quantized(name: "w", shape: [2, 5], values: [2.5, -127, 3.5, 0.5, -0.5, 0, 0, 0, 0, 0], to: .int8)
        guard case .int8(let q, let s) = t.storage else { Issue.record("not int8"); return }
        #expect(s == [1, 1])                 // the all-zero row gets scale 1
        #expect(q == [2, -127, 4, 0, 0, 0, 0, 0, 0, 0])
        #expect(t.floatValues() == [2, -127, 4, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func int8NeverProducesMinus128AndMapsTheRowMaximumTo127() throws {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<50 {
            let values = rng.weights(64, amplitude: 3)
            let t = try Tensor.quantized(name: "w", shape: [8, 8], values: values, to: .int8)
            guard case .int8(let q, let scales) = t.storage else { return }
            #expect(!q.contains(-128))
            for r in 0..<8 {
                let row = Array(q[(r * 8)..<(r * 8 + 8)])
                #expect(row.map { abs(Int($0)) }.max() == 127)
                let maxAbs = values[(r * 8)..<(r * 8 + 8)].map(\.magnitude).max()!
                #expect(scales[r] == maxAbs / 127)
            }
            // Dequantization error is at most half a step per element.
            let back = t.floatValues()
            for i in 0..<64 { #expect(abs(back[i] - values[i]) <= scales[i / 8] * 0.5001) }
        }
    }

    @Test func int8RankOneHasOneScalePerElement() throws {
        let t = try Tensor.quantized(name: "b", shape: [3], values: [0.5, -2, 0], to: .int8)
        guard case .int8(let q, let s) = t.storage else { return }
        #expect(q == [127, -127, 0])
        #expect(s == [Float(0.5) / 127, Float(2) / 127, 1])
        #expect(t.floatValues() == [Float(127) * (Float(0.5) / 127), Float(-127) * (Float(2) / 127), 0])
    }

    @Test func quantizationRefusesNonFiniteInputAndWrongCounts() {
        #expect(errorKind { _ = try Tensor.quantized(name: "w", shape: [2], values: [1, .nan], to: .int8) } == .invalidTensor)
        #expect(errorKind { _ = try Tensor.quantized(name: "w", shape: [2], values: [1, .infinity], to: .f32) } == .invalidTensor)
        #expect(errorKind { _ = try Tensor.quantized(name: "w", shape: [3], values: [1, 2], to: .f32) } == .malformed)
    }

    @Test func bf16DequantizesByShifting() throws {
        let t = try Tensor.quantized(name: "w", shape: [2], values: [1.5, -0.125], to: .bf16)
        #expect(t.floatValues() == [1.5, -0.125])
    }
}
