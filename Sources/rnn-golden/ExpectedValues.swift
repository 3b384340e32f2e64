import RNNSupport

/// The expected outputs of one model on one input batch, in float64 (spec/GOLDEN.md, "Expected values").
struct ExpectedValues {
    var modelFile: String
    var imagesFile: String
    var count: Int
    var classes: Int
    /// `[count, classes]` row-major, from the trainer's `forward64`.
    var logits: [Double]

    func row(_ b: Int) -> ArraySlice<Double> { logits[(b * classes)..<((b + 1) * classes)] }

    /// `softmax` of a row in float64, shifted by the row's maximum so that nothing overflows.
    func probabilities(_ b: Int) -> [Double] {
        let z = row(b)
        let top = z.max()!
        let e = z.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Index of the largest logit, the lowest on ties.
    func prediction(_ b: Int) -> Int {
        let z = row(b)
        var best = z.startIndex
        for k in z.indices where z[k] > z[best] { best = k }
        return best - z.startIndex
    }

    /// Largest logit minus the second largest: how far the prediction is from a tie.
    func margin(_ b: Int) -> Double {
        let sorted = row(b).sorted(by: >)
        return sorted[0] - sorted[1]
    }

    /// The JSON text: fixed member order, one image per line, every number the shortest decimal
    /// that reads back as the same binary64 (Swift's `description`), so the file is exact and diffable.
    var json: String {
        func list(_ values: some Sequence<Double>) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        func rows(_ make: (Int) -> String) -> String { (0..<count).map(make).joined(separator: ",\n") }
        return """
            {"model":"\(modelFile)","images":"\(imagesFile)","count":\(count),"classes":\(classes),
            "predictions":[\((0..<count).map { "\(prediction($0))" }.joined(separator: ","))],
            "margins":\(list((0..<count).map(margin))),
            "logits":[
            \(rows { list(row($0)) })
            ],
            "probabilities":[
            \(rows { list(probabilities($0)) })
            ]}

            """
    }
}

extension ExpectedValues {
    /// The JSON text in the layout of the format-1.2 set (spec/GOLDEN.md, "Format 1.2": one output
    /// vector per sequence, `lengths`, no probabilities), used by the trainer-made set; `imagesFile`
    /// names the input (an IDX file or a `.npy` features file), `lengths` the steps of each input.
    func sequenceJSON(lengths: [Int]) -> String {
        precondition(lengths.count == count, "one length per input")
        func list(_ values: some Sequence<Double>) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }
        func integers(_ values: some Sequence<Int>) -> String { "[" + values.map(String.init).joined(separator: ",") + "]" }
        return """
            {"model":"\(modelFile)","input":"\(imagesFile)","count":\(count),"outputs_per_step":false,"output":"logits","classes":\(classes),"lengths":\(integers(lengths)),
            "predictions":\(integers((0..<count).map(prediction))),
            "margins":[
            \((0..<count).map { "\(margin($0))" }.joined(separator: ",\n"))],
            "outputs":[
            \((0..<count).map { list(row($0)) }.joined(separator: ",\n"))]}

            """
    }
}
