import Testing
@testable import RNNTraining

/// `--augment shift`: training batches only, exact shifts, drawn from the run's seed.
@Suite struct AugmentationTests {
    /// Two 3×4 images with distinct pixels 1...12 and 101...112.
    static let images = LabeledPixels(pixels: (1...12).map(UInt8.init) + (101...112).map(UInt8.init), labels: [2, 0],
                                      height: 3, width: 4)

    func shifted(_ index: Int, dx: Int, dy: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: 12)
        out.withUnsafeMutableBufferPointer { Self.images.shift(index, dx: dx, dy: dy, into: $0) }
        return out
    }

    @Test func aShiftMovesThePixelsAndFillsWithZeros() {
        #expect(shifted(0, dx: 0, dy: 0) == (1...12).map(UInt8.init))
        // Right by 1, down by 2: row 2 is the old row 0 moved right, the rest zero.
        #expect(shifted(0, dx: 1, dy: 2) == [0, 0, 0, 0,
                                             0, 0, 0, 0,
                                             0, 1, 2, 3])
        // Left by 2, up by 1.
        #expect(shifted(1, dx: -2, dy: -1) == [107, 108, 0, 0,
                                               111, 112, 0, 0,
                                               0, 0, 0, 0])
        #expect(shifted(0, dx: -1, dy: 1) == [0, 0, 0, 0,
                                              2, 3, 4, 0,
                                              6, 7, 8, 0])
        // Beyond the image: nothing is left.
        #expect(shifted(0, dx: 4, dy: 0) == [UInt8](repeating: 0, count: 12))
        #expect(shifted(0, dx: 0, dy: -3) == [UInt8](repeating: 0, count: 12))
    }

    @Test func theShiftsAreAFunctionOfTheSeedAndStepAndCoverTheRange() {
        let a = AugmentedBatch.shifts(count: 500, seed: 9, step: 4)
        #expect(a.map { [$0.dx, $0.dy] } == AugmentedBatch.shifts(count: 500, seed: 9, step: 4).map { [$0.dx, $0.dy] })
        #expect(a.map { [$0.dx, $0.dy] } != AugmentedBatch.shifts(count: 500, seed: 9, step: 5).map { [$0.dx, $0.dy] })
        #expect(a.map { [$0.dx, $0.dy] } != AugmentedBatch.shifts(count: 500, seed: 10, step: 4).map { [$0.dx, $0.dy] })
        // All 25 shifts of -2...2 x -2...2 occur in 500 draws (each misses with probability (24/25)^500 < 1e-8).
        #expect(Set(a.map { "\($0.dx),\($0.dy)" }).count == 25)
        #expect(a.allSatisfy { abs($0.dx) <= 2 && abs($0.dy) <= 2 })
    }

    @Test func aBatchHoldsTheShiftedImagesWithTheirLabels() {
        var batch = AugmentedBatch(capacity: 3, height: 3, width: 4)
        batch.fill(from: Self.images, indices: [1, 0, 1][...], augmentation: .shift, seed: 1, step: 7)
        let shifts = AugmentedBatch.shifts(count: 3, seed: 1, step: 7)
        #expect(batch.count == 3 && Array(batch.labels.prefix(3)) == [0, 2, 0])
        for (j, index) in [1, 0, 1].enumerated() {
            #expect(Array(batch.pixels[(12 * j)..<(12 * j + 12)]) == shifted(index, dx: shifts[j].dx, dy: shifts[j].dy))
        }
    }

    /// Augmentation changes what is trained on, reproducibly, and never what is evaluated.
    @Test func onlyTrainingBatchesAreAugmentedAndRunsRepeat() throws {
        let data = syntheticTrainingData()
        var augmented = tinyConfiguration()
        augmented.augmentation = .shift
        var weights: [[UInt32]] = []
        var trainers: [Trainer] = []
        for c in [tinyConfiguration(), augmented, augmented] {
            let trainer = try Trainer(configuration: c, data: data)
            var state = TrainingState(configuration: c)
            _ = try trainer.run(&state)
            weights.append(state.parameters.values.map(\.bitPattern))
            trainers.append(trainer)
        }
        #expect(weights[0] != weights[1] && weights[1] == weights[2])
        // The same weights evaluate the same with and without augmentation: validation and test.
        let p = LSTMParameters<Float>(architecture: augmented.architecture, values: weights[1].map(Float.init(bitPattern:)))
        #expect(trainers[1].task.validate(p) == trainers[0].task.validate(p))
        #expect(trainers[1].evaluate(p, on: data.test) == trainers[0].evaluate(p, on: data.test))
        #expect(trainers[1].task.validate(p) == trainers[1].evaluate(p, on: data.validation))
    }
}
