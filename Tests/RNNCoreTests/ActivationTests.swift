import Testing
@testable import RNNCore
#if canImport(Glibc)
import Glibc
#endif

/// The fast gate functions against libm over a dense sweep (RNNCore/Activations.swift).
struct ActivationTests {
    /// Every 1/1024 over [-30, 30] plus the clamped extremes: 61,441 + 4 points.
    static let sweep: [Float] = (-30 * 1024...30 * 1024).map { Float($0) / 1024 } + [-200, -88, 88, 200]

    static func maxError(_ fast: (Lanes) -> Lanes, _ exact: (Double) -> Double) -> Double {
        var worst = 0.0
        var i = 0
        while i < sweep.count {
            var lanes = Lanes(repeating: 0)
            for l in 0..<laneCount { lanes[l] = sweep[min(i + l, sweep.count - 1)] }
            let y = fast(lanes)
            for l in 0..<laneCount {
                let x = Double(sweep[min(i + l, sweep.count - 1)])
                worst = max(worst, abs(Double(y[l]) - exact(x)))
            }
            i += laneCount
        }
        return worst
    }

    @Test func fastSigmoidStaysWithinOneMillionthOfLibm() {
        let error = Self.maxError(fastSigmoid) { 1 / (1 + exp(-$0)) }
        print("max |fastSigmoid - libm| over [-30, 30] = \(error)")
        #expect(error < 1e-6, "max |fastSigmoid - sigmoid| = \(error)")
    }

    @Test func fastTanhStaysWithinOneMillionthOfLibm() {
        let error = Self.maxError(fastTanh) { tanh($0) }
        print("max |fastTanh - libm| over [-30, 30] = \(error)")
        #expect(error < 1e-6, "max |fastTanh - tanh| = \(error)")
    }

    @Test func fastExpHasSmallRelativeErrorAcrossTheNormalRange() {
        var worst = 0.0
        for k in -80 * 64...80 * 64 {
            let x = Float(k) / 64
            let y = Double(fastExp(Lanes(repeating: x))[0])
            worst = max(worst, abs(y / exp(Double(x)) - 1))
        }
        #expect(worst < 3e-7, "max relative error of fastExp = \(worst)")
    }

    @Test func gateFunctionsSaturateWithoutNaNOrInfinity() {
        let extremes = Lanes(-1e30, -1e4, -100, -0.0, 0, 100, 1e4, 1e30)
        let s = fastSigmoid(extremes), t = fastTanh(extremes)
        for l in 0..<laneCount {
            #expect(s[l].isFinite && s[l] >= 0 && s[l] <= 1)
            #expect(t[l].isFinite && t[l] >= -1 && t[l] <= 1)
        }
        #expect(s[7] == 1 && s[0] < 1e-30)
        #expect(t[7] == 1 && t[0] == -1)
    }
}
