import CBLAS
import Foundation
import Testing
@testable import RNNCore
@testable import RNNRuntime

/// Kernel timings for the report; run only with RNN_BENCH=1 in a release build:
/// `RNN_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter KernelBenchmarks`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["RNN_BENCH"] == "1"))
struct KernelBenchmarks {
    /// Best seconds per call of `body` over `repeats` rounds of `calls` calls.
    func time(calls: Int, repeats: Int = 5, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls { body() }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(calls))
        }
        return best
    }

    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in 0..<count { p[i] = Float(i % 17) * 0.01 - 0.08 }
        return p
    }

    @Test func gemmRates() {
        openblas_set_num_threads(1)
        let n = 1024
        let a = buffer(n * n), b = buffer(n * n), c = buffer(n * n)
        let big = time(calls: 2, repeats: 3) {
            sgemmAccumulate(rows: n, columns: n, inner: n, a: a, lda: n, weight: b, ldw: n, c: c, ldc: n)
        }
        print(String(format: "SGEMM 1024^3 (NT)            %.1f GFLOP/s", 2 * Double(n * n * n) / big / 1e9))
        for batch in [1, 16, 64, 128, 256] {
            let h = 128, g = 512
            let x = buffer(batch * h), w = buffer(g * h), z = buffer(batch * g)
            let seconds = time(calls: 2000) {
                sgemmAccumulate(rows: batch, columns: g, inner: h, a: x, lda: h, weight: w, ldw: h, c: z, ldc: g)
            }
            let nn = time(calls: 2000) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(batch), blasint(g), blasint(h), 1, x, blasint(h), w, blasint(g), 1, z, blasint(g))
            }
            let gemv = time(calls: 2000) {
                for r in 0..<batch {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(g), blasint(h), 1, w, blasint(h), x + r * h, 1, 1, z + r * g, 1)
                }
            }
            print(String(format: "step [%3d,128]x[128,512] as %d GEMV  %.1f GFLOP/s (%.2f us)", batch, batch, 2 * Double(batch * h * g) / gemv / 1e9, gemv * 1e6))
            print(String(format: "step GEMM [%3d,128]x[128,512]  NT %.1f GFLOP/s (%.2f us)   NN %.1f GFLOP/s",
                         batch, 2 * Double(batch * h * g) / seconds / 1e9, seconds * 1e6, 2 * Double(batch * h * g) / nn / 1e9))
        }
        let rows = 28 * 64
        let x = buffer(rows * 28), w = buffer(512 * 28), z = buffer(rows * 512)
        let projection = time(calls: 200) {
            sgemmAccumulate(rows: rows, columns: 512, inner: 28, a: x, lda: 28, weight: w, ldw: 28, c: z, ldc: 512)
        }
        print(String(format: "input projection [1792,28]x[28,512]  %.1f GFLOP/s (%.1f us)", 2 * Double(rows * 28 * 512) / projection / 1e9, projection * 1e6))
    }

    @Test func gatePassRates() {
        let units = 64 * 128
        let z = buffer(4 * units), c = buffer(units), h = buffer(units)
        let fast = time(calls: 2000) { gatePassFast(z: z, cell: c, hidden: h, units: units) }
        let libm = time(calls: 200) { gatePassLibm(z: z, cell: c, hidden: h, units: units) }
        print(String(format: "gate pass [64 x 4*128]  fast %.2f us (%.2f ns/unit)   libm %.2f us (%.2f ns/unit)",
                     fast * 1e6, fast * 1e9 / Double(units), libm * 1e6, libm * 1e9 / Double(units)))
    }

    @Test func endToEndByBlockSizeAndActivation() throws {
        let file = randomModel(height: 28, width: 28, layers: [.lstm(hidden: 128, returns: .last), .dense(out: 10, activation: .none)], seed: 1)
        let model = try Model(file)
        var rng = SplitMix64(seed: 2)
        let pixels = rng.bytes(4096 * 784)
        for block in [1, 8, 16, 32, 64, 128, 256] {
            for math in [ActivationMath.fast, .libm] {
                let options = ClassifyOptions(threads: 1, blockSize: block, activationMath: math)
                let seconds = time(calls: 1, repeats: 3) { _ = try? model.classify(pixels: pixels, options: options) }
                print("end to end, block \(block), \(math): \(Int(4096 / seconds)) images/s")
            }
        }
    }
}
