import CRNNRuntime
import RNNFormat
import RNNRuntime

/// Checks every argument of a `rnn_classify_features*` call, then runs the padded batch.
///
/// In the header's order: the handle, the model's kind (features; probabilities and classes of a
/// logits model), the lengths (`size_t` values above `Int.max`), the pointers, `count x steps x
/// width` against `values_len`, each sequence's length, the output length and the results' memory;
/// the runtime then refuses a non-finite value within a sequence (naming sequence, step and feature).
private func classifySequences(_ handle: OpaquePointer?, _ values: UnsafePointer<Float>?, valuesLength: Int, count: Int,
                               steps: Int, lengths: UnsafePointer<Int>?, output: ClassifyOutput,
                               outputLength: Int) throws(APIError) -> BatchResult {
    let model = try classifyingModel(handle, reads: .features, output)
    let valuesLength = try length(valuesLength, "values_len")
    let count = try length(count, "count")
    let steps = try length(steps, "steps")
    let outputLength = try length(outputLength, "out_len")
    if values == nil && (valuesLength > 0 || count > 0) { throw .nullArgument("values is NULL") }
    if output.isNull && (outputLength > 0 || count > 0) { throw .nullArgument("\(output.name) is NULL") }

    let width = model.input.width, maxLength = model.input.timeSteps
    let expected = try product(try product(count, steps, "count x steps"), width, "count x steps x width")
    guard valuesLength == expected else {
        throw .inputSize("values_len is \(valuesLength), but \(counted(count, "sequence")) of \(steps) steps x \(width) features "
            + "need \(expected) values")
    }
    // Each length in 1 ... min(steps, max_length): a longer one would read the next sequence's row.
    // Nothing of the caller's count is allocated before checkOutput has reserved the results.
    let limit = min(steps, maxLength)
    let total: Int
    if let lengths {
        var sum = 0
        for i in 0..<count {
            let found = lengths[i]
            guard found >= 1, found <= limit else {
                throw .invalidArgument("lengths[\(i)] is \(UInt(bitPattern: found)), expected 1 ... \(limit) "
                    + "(steps is \(steps), the model's max_length \(maxLength))")
            }
            sum += found  // at most count x steps, which fits
        }
        total = sum
    } else {
        guard count == 0 || (steps >= 1 && steps <= limit) else {
            throw .invalidArgument("lengths is NULL, so every sequence has steps = \(steps) steps; expected 1 ... \(maxLength) "
                + "(the model's max_length)")
        }
        total = count * steps
    }
    let rows = model.metadata.outputsPerStep
        ? OutputRows(count: count, total: total, text: "\(counted(count, "sequence")) (\(counted(total, "step")) in all)", noun: "sequence")
        : OutputRows(count: count, total: count, text: counted(count, "sequence"), noun: "sequence")
    try checkOutput(output, length: outputLength, rows: rows, model: model)
    guard count > 0, let values else { return try runtime { () throws(RuntimeError) in try model.classify(sequences: []) } }
    let sequenceLengths = lengths.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [Int](repeating: steps, count: count)
    let buffer = UnsafeBufferPointer(start: values, count: expected)
    return try runtime { () throws(RuntimeError) in
        try model.classify(paddedSequences: buffer, steps: steps, lengths: sequenceLengths)
    }
}

/// The body every `rnn_classify_features*` entry point shares.
private func sequencesEntry(_ function: StaticString, _ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ valuesLength: Int,
                            _ count: Int, _ steps: Int, _ lengths: UnsafePointer<Int>?, _ output: ClassifyOutput,
                            _ outputLength: Int) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let result = try classifySequences(model, values, valuesLength: valuesLength, count: count, steps: steps,
                                           lengths: lengths, output: output, outputLength: outputLength)
        output.write(result)
    }
}

/// Logits (or values) of padded feature sequences (header: `rnn_classify_features`).
@c @implementation
public func rnn_classify_features(_ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ valuesLength: Int, _ count: Int,
                                  _ steps: Int, _ lengths: UnsafePointer<Int>?, _ outLogits: UnsafeMutablePointer<Float>?,
                                  _ outLength: Int) -> rnn_status {
    sequencesEntry("rnn_classify_features", model, values, valuesLength, count, steps, lengths, .logits(outLogits), outLength)
}

/// Probabilities of padded feature sequences (header: `rnn_classify_features_probabilities`).
@c @implementation
public func rnn_classify_features_probabilities(_ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ valuesLength: Int,
                                                _ count: Int, _ steps: Int, _ lengths: UnsafePointer<Int>?,
                                                _ outProbabilities: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    sequencesEntry("rnn_classify_features_probabilities", model, values, valuesLength, count, steps, lengths,
                   .probabilities(outProbabilities), outLength)
}

/// Predicted classes of padded feature sequences (header: `rnn_classify_features_classes`).
@c @implementation
public func rnn_classify_features_classes(_ model: OpaquePointer?, _ values: UnsafePointer<Float>?, _ valuesLength: Int,
                                          _ count: Int, _ steps: Int, _ lengths: UnsafePointer<Int>?,
                                          _ outClasses: UnsafeMutablePointer<Int32>?, _ outLength: Int) -> rnn_status {
    sequencesEntry("rnn_classify_features_classes", model, values, valuesLength, count, steps, lengths, .classes(outClasses),
                   outLength)
}
