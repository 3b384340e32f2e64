import Testing
@testable import RNNReport

@Suite struct ConfusionMatrixTests {
    // truth:     0 0 0 1 1 2 2 2 2 1
    // predicted: 0 1 0 1 2 2 2 0 2 1
    let matrix = try! ConfusionMatrix(truth: [0, 0, 0, 1, 1, 2, 2, 2, 2, 1], predicted: [0, 1, 0, 1, 2, 2, 2, 0, 2, 1], classCount: 3)

    @Test func countsEveryPairInItsCell() {
        #expect(matrix.counts == [2, 1, 0,
                                  0, 2, 1,
                                  1, 0, 3])
        #expect(matrix.total == 10)
        #expect(matrix.correct == 7)
        #expect(matrix.accuracy == 0.7)
    }

    @Test func precisionIsCorrectOverPredictedPerClass() {
        #expect(matrix.precision(of: 0) == 2.0 / 3.0)
        #expect(matrix.precision(of: 1) == 2.0 / 3.0)
        #expect(matrix.precision(of: 2) == 3.0 / 4.0)
    }

    @Test func recallIsCorrectOverSupportPerClass() {
        #expect(matrix.recall(of: 0) == 2.0 / 3.0)
        #expect(matrix.recall(of: 1) == 2.0 / 3.0)
        #expect(matrix.recall(of: 2) == 3.0 / 4.0)
        let metrics = matrix.classMetrics()
        #expect(metrics.map(\.support) == [3, 3, 4])
        #expect(abs((metrics[2].f1 ?? 0) - 0.75) < 1e-12)
    }

    @Test func undefinedPrecisionAndRecallAreNil() throws {
        let m = try ConfusionMatrix(truth: [0, 0], predicted: [0, 0], classCount: 2)
        #expect(m.precision(of: 1) == nil)
        #expect(m.recall(of: 1) == nil)
        #expect(m.classMetrics()[1].f1 == nil)
    }

    @Test func mostConfusedPairsAreSortedByCountThenClass() throws {
        let m = try ConfusionMatrix(truth: [4, 4, 4, 9, 9, 7, 3], predicted: [9, 9, 9, 4, 4, 1, 3], classCount: 10)
        #expect(m.mostConfusedPairs(limit: 2) == [ConfusedPair(truth: 4, predicted: 9, count: 3), ConfusedPair(truth: 9, predicted: 4, count: 2)])
        #expect(m.mostConfusedPairs(limit: 10).count == 3)
        #expect(m.mostConfusedPairs(limit: 10).allSatisfy { $0.truth != $0.predicted })
    }

    @Test func mismatchedLengthsAreReported() {
        #expect(throws: ReportError.lengthMismatch(what: "predictions", expected: 2, found: 1)) {
            try ConfusionMatrix(truth: [0, 1], predicted: [0], classCount: 2)
        }
    }

    @Test func classOutsideTheRangeIsReportedWithItsIndex() {
        #expect(throws: ReportError.classOutOfRange(what: "predicted", index: 1, value: 5, classCount: 3)) {
            try ConfusionMatrix(truth: [0, 1], predicted: [0, 5], classCount: 3)
        }
        let error = ReportError.classOutOfRange(what: "predicted", index: 1, value: 5, classCount: 3)
        #expect(error.description == "predicted[1]: expected a class index in 0..<3, found 5")
    }
}

/// Counting one prediction at a time (rnn-infer's streamed batches) gives the matrix the arrays give.
@Test func countingOneAtATimeEqualsCountingTheArrays() throws {
    let truth = [0, 1, 2, 2, 1, 0, 2, 2, 1]
    let predicted = [0, 2, 2, 1, 1, 0, 2, 0, 2]
    var streamed = ConfusionMatrix(classCount: 3)
    for (t, p) in zip(truth, predicted) { streamed.add(truth: t, predicted: p) }
    let whole = try ConfusionMatrix(truth: truth, predicted: predicted, classCount: 3)
    #expect(streamed == whole)
    #expect(streamed.total == 9 && streamed.correct == 5 && streamed[2, 1] == 1 && streamed[1, 2] == 2)
    #expect(streamed.mostConfusedPairs(limit: 1) == [ConfusedPair(truth: 1, predicted: 2, count: 2)])
}
