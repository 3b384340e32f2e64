import RNNCore
import Testing
@testable import RNNRuntime

/// Threads only decide who computes which block, never what a block contains (see ``ClassifyOptions``).
struct ThreadingTests {
    @Test func resultsAreBitwiseIdenticalWithOneTwoAndFourThreads() throws {
        let file = randomModel(height: 14, width: 10, layers: [
            .dense(out: 16, activation: .none), .lstm(hidden: 24, returns: .sequence),
            .lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none),
        ], seed: 77)
        let model = try Model(file)
        var rng = SplitMix64(seed: 1)
        let pixels = rng.bytes(203 * model.pixelsPerImage)
        let one = try model.classify(pixels: pixels, options: ClassifyOptions(threads: 1, blockSize: 16))
        for threads in [2, 4] {
            let many = try model.classify(pixels: pixels, options: ClassifyOptions(threads: threads, blockSize: 16))
            #expect(many.logits == one.logits, "\(threads) threads")
            #expect(many.probabilities == one.probabilities)
            #expect(many.predictions == one.predictions)
        }
    }

    @Test func oneModelServesConcurrentCallers() async throws {
        let model = try Model(randomModel(height: 8, width: 8, layers: [.lstm(hidden: 16, returns: .last), .dense(out: 4, activation: .none)], seed: 2))
        var rng = SplitMix64(seed: 3)
        let pixels = rng.bytes(50 * model.pixelsPerImage)
        let expected = try model.classify(pixels: pixels).logits
        try await withThrowingTaskGroup(of: [Float].self) { group in
            for threads in [1, 2, 3, 1, 2, 3] {
                group.addTask { try model.classify(pixels: pixels, options: ClassifyOptions(threads: threads)).logits }
            }
            for try await logits in group { #expect(logits == expected) }
        }
    }
}
