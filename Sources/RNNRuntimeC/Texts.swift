import CRNNRuntime
import RNNFormat
import RNNRuntime
import RNNSupport

/// Checks every argument of a `rnn_classify_texts*` call, then tokenizes and classifies.
///
/// In the header's order: the handle, the model's kind (tokens; probabilities and classes of a
/// logits model; one output per text), the lengths, the pointers (`texts`, the output), the output
/// length, the results' memory, then each text's pointer. Each text's bytes go through the model's own pipeline
/// (``RNNFormat/TokenSequence``: words-v1 on bytes, so text that is not valid UTF-8 is tokenized by
/// the same byte rules, never repaired), on the calling thread.
private func classifyTexts(_ handle: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, count: Int,
                           output: ClassifyOutput, outputLength: Int) throws(APIError) -> BatchResult {
    let model = try classifyingModel(handle, reads: .tokens, output)
    if model.metadata.outputsPerStep {
        throw .unsupportedModel("the model gives one output per token (its last recurrent layer returns its sequence); "
            + "rnn_classify_texts* runs models with one output per text")
    }
    let count = try length(count, "count")
    let outputLength = try length(outputLength, "out_len")
    if texts == nil && count > 0 { throw .nullArgument("texts is NULL") }
    if output.isNull && (outputLength > 0 || count > 0) { throw .nullArgument("\(output.name) is NULL") }
    guard count > 0, let texts, let encoder = model.encoder else {
        return try runtime { () throws(RuntimeError) in try model.classify(tokenSequences: []) }
    }
    // The results are reserved before the caller's `count` pointers are read.
    try checkOutput(output, length: outputLength, rows: OutputRows(count: count, total: count, text: counted(count, "text"), noun: "text"),
                    model: model)
    for i in 0..<count where texts[i] == nil { throw .nullArgument("texts[\(i)] is NULL") }
    let ids = (0..<count).map { i in
        let text = texts[i]!
        var sequence = TokenSequence(encoder)
        text.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
            sequence.append(UnsafeBufferPointer(start: bytes, count: strlen(text)))
        }
        return sequence.finish()
    }
    return try runtime { () throws(RuntimeError) in try model.classify(tokenSequences: ids) }
}

/// The body every `rnn_classify_texts*` entry point shares.
private func textsEntry(_ function: StaticString, _ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?,
                        _ count: Int, _ output: ClassifyOutput, _ outputLength: Int) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let result = try classifyTexts(model, texts, count: count, output: output, outputLength: outputLength)
        output.write(result)
    }
}

/// Logits (or values) of texts (header: `rnn_classify_texts`).
@c @implementation
public func rnn_classify_texts(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                               _ outLogits: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    textsEntry("rnn_classify_texts", model, texts, count, .logits(outLogits), outLength)
}

/// Probabilities of texts (header: `rnn_classify_texts_probabilities`).
@c @implementation
public func rnn_classify_texts_probabilities(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                                             _ outProbabilities: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    textsEntry("rnn_classify_texts_probabilities", model, texts, count, .probabilities(outProbabilities), outLength)
}

/// Predicted classes of texts (header: `rnn_classify_texts_classes`).
@c @implementation
public func rnn_classify_texts_classes(_ model: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                                       _ outClasses: UnsafeMutablePointer<Int32>?, _ outLength: Int) -> rnn_status {
    textsEntry("rnn_classify_texts_classes", model, texts, count, .classes(outClasses), outLength)
}
