import Testing

/// The runtime against the trainer's own binary32 evaluation, example by example: the check behind
/// "trainer and runtime agree on every prediction of the real test sets" (spec/GOLDEN.md).
///
/// The margin rule: each side is within `tolerance` of the exact (float64) logits, so the two are
/// within twice it of each other, and an example whose trainer top-2 gap is at most
/// `2 * tolerance.bound(top logit)` is a near-tie that either side may break either way. Every
/// other example must get the same class from both; the logits must agree within twice `tolerance`.
struct PredictionAgreement {
    let tolerance: Tolerance
    private(set) var difference = LogitDifference()
    private(set) var count = 0, disagreements = 0, nearTies = 0, trainerCorrect = 0, runtimeCorrect = 0
    /// Disagreements at near-ties where exactly one side was right: how far the accuracies may differ.
    private(set) var tiedCorrectness = 0
    /// Examples whose classes differ without a near-tie (should stay empty).
    private(set) var unexplained: [String] = []
    /// The smallest trainer top-2 gap seen.
    private(set) var smallestMargin = Double.infinity

    init(tolerance: Tolerance) { self.tolerance = tolerance }

    /// Example `index`: the trainer's logits, the runtime's logits and predicted class, the true label.
    mutating func add(trainer: some Collection<Float>, runtime: some Collection<Float>, runtimeClass: Int, label: Int, index: Int) {
        let row = trainer.map(Double.init), other = runtime.map(Double.init)
        let both = Tolerance(absolute: 2 * tolerance.absolute, relative: 2 * tolerance.relative)
        for (k, (a, e)) in zip(other, row).enumerated() {
            difference.add(actual: a, expected: e, tolerance: both, place: "example \(index) class \(k)")
        }
        // The trainer's rule: the first maximum (EvaluationResult).
        let sorted = row.sorted(by: >)
        let trainerClass = row.firstIndex(of: sorted[0])!
        let margin = sorted[0] - sorted[1]
        smallestMargin = min(smallestMargin, margin)
        let isTie = margin <= 2 * tolerance.bound(sorted[0])
        count += 1
        if isTie { nearTies += 1 }
        if trainerClass == label { trainerCorrect += 1 }
        if runtimeClass == label { runtimeCorrect += 1 }
        if runtimeClass != trainerClass {
            disagreements += 1
            if isTie {
                if trainerClass == label || runtimeClass == label { tiedCorrectness += 1 }
            } else {
                unexplained.append("example \(index): trainer class \(trainerClass), runtime \(runtimeClass), top-2 gap \(margin)")
            }
        }
    }

    var trainerAccuracy: Double { Double(trainerCorrect) / Double(max(count, 1)) }
    var runtimeAccuracy: Double { Double(runtimeCorrect) / Double(max(count, 1)) }

    var summary: String {
        "\(count) test examples: trainer accuracy \(trainerAccuracy), runtime \(runtimeAccuracy), differing predictions "
            + "\(disagreements) (near-ties \(nearTies), smallest top-2 gap \(smallestMargin)); runtime vs trainer logits: \(difference)"
    }

    /// Records an issue for every unexplained disagreement, for logits beyond twice the tolerance, for
    /// accuracies that differ by more than the near-ties explain, and for a trainer accuracy below
    /// `minimumAccuracy` (the model must have learned something for the comparison to mean much).
    func expectAgreement(_ label: String, expectedCount: Int, minimumAccuracy: Double) {
        print("[golden] \(label): \(summary)")
        #expect(count == expectedCount, "\(label): \(count) examples compared, expected \(expectedCount)")
        #expect(unexplained.isEmpty, "\(label): \(unexplained.prefix(10))")
        #expect(difference.passes, "\(label): runtime vs trainer f32 logits: \(difference)")
        #expect(abs(trainerCorrect - runtimeCorrect) <= tiedCorrectness,
                "\(label): accuracies differ by more than the near-ties: \(trainerAccuracy) vs \(runtimeAccuracy)")
        #expect(trainerAccuracy > minimumAccuracy, "\(label): the short run should learn well past chance, got \(trainerAccuracy)")
    }
}
