import RNNReport

/// Keeps the `limit` most confident misclassifications of a stream of any length, so that
/// `--misclassified` needs memory for `limit` images, not for every mistake of the input.
struct MistakeCollector {
    let limit: Int
    private(set) var kept: [Misclassification] = []
    /// Every mistake seen, kept or not.
    private(set) var total = 0

    init(limit: Int) { self.limit = limit }

    mutating func add(_ mistake: Misclassification) {
        total += 1
        guard limit > 0 else { return }
        if kept.count < limit {
            kept.append(mistake)
        } else if let weakest = kept.indices.min(by: { kept[$0].probability < kept[$1].probability }),
                  kept[weakest].probability < mistake.probability {
            kept[weakest] = mistake  // O(limit) per replacement; limit is small (default 500)
        }
    }

    /// The SVG grid (RNNReport's `DigitGrid`, as in the analysis report), most confident first.
    func svg(classNames: [String]) -> String {
        DigitGrid.misclassified(kept, classNames: classNames, limit: limit,
                                title: "Misclassified images, most confident first (\(kept.count) of \(total))").svg()
    }
}
