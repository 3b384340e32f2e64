import CRNNRuntime
import RNNFormat
import RNNRuntime

/// The caller's input: raw pixels (normalized by the model) or features (already normalized).
enum InputValues {
    case pixels(UnsafePointer<UInt8>?)
    case features(UnsafePointer<Float>?)

    /// The parameter's name in the header, for messages.
    var name: String {
        switch self {
        case .pixels: "pixels"
        case .features: "features"
        }
    }

    var isNull: Bool {
        switch self {
        case .pixels(let p): p == nil
        case .features(let p): p == nil
        }
    }
}

/// What a classify entry point writes, and where: one row of floats or one class per output row.
enum ClassifyOutput {
    case logits(UnsafeMutablePointer<Float>?)
    case probabilities(UnsafeMutablePointer<Float>?)
    case classes(UnsafeMutablePointer<Int32>?)

    /// The parameter's name in the header, for messages.
    var name: String {
        switch self {
        case .logits: "out_logits"
        case .probabilities: "out_probabilities"
        case .classes: "out_classes"
        }
    }

    var isNull: Bool {
        switch self {
        case .logits(let p), .probabilities(let p): p == nil
        case .classes(let p): p == nil
        }
    }

    /// Refuses probabilities and classes of a values model (spec §6.5: no softmax applies).
    func check(outputKindOf model: Model) throws(APIError) {
        guard model.metadata.output == .values else { return }
        switch self {
        case .logits: return
        case .probabilities, .classes:
            throw .unsupportedModel("the model's outputs are values (model.output 'values'), which have no probabilities "
                + "or classes: use the function without _probabilities / _classes")
        }
    }

    /// Copies the requested rows of `result` to the caller's buffer (its length was checked by
    /// ``checkOutput(_:length:rows:model:)``).
    func write(_ result: BatchResult) {
        switch self {
        case .logits(let p): RNNRuntimeC.write(result.logits, to: p)
        case .probabilities(let p): RNNRuntimeC.write(result.probabilities, to: p)
        case .classes(let p): RNNRuntimeC.write(result.predictions, to: p)
        }
    }
}

/// The output rows of a batch, and how messages name them.
struct OutputRows {
    /// Inputs (images, sequences, texts).
    var count: Int
    /// Output rows: `count`, or one per step of every input for a per-step model.
    var total: Int
    /// "2 images", "2 images x 28 steps", "3 sequences (12 steps in all)".
    var text: String
    /// "image", "sequence", "text".
    var noun: String
}

/// "1 image", "2 images".
func counted(_ count: Int, _ noun: String) -> String {
    count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
}

/// Checks the caller's output length for `rows`, then that this process can hold the results.
///
/// The runtime keeps logits, probabilities and predictions of the whole batch in Swift arrays
/// (2 x classes floats + one Int per row), which abort when memory runs out, whichever of the
/// three the caller asked for: prove the caller's count can be held first.
func checkOutput(_ output: ClassifyOutput, length outputLength: Int, rows: OutputRows, model: Model) throws(APIError) {
    let classes = model.classCount
    let needed: Int
    if case .classes = output {
        needed = rows.total
        guard outputLength >= needed else { throw .bufferTooSmall("out_len is \(outputLength), but \(rows.text) need \(needed) classes") }
    } else {
        needed = try product(rows.total, classes, "count x classes")
        guard outputLength >= needed else {
            let unit = model.metadata.output == .values ? "values" : "classes"
            throw .bufferTooSmall("out_len is \(outputLength), but \(rows.text) x \(classes) \(unit) need \(needed) floats")
        }
    }
    guard rows.total > 0 else { return }
    let perRow = rows.total == rows.count ? rows.noun : "row"
    let resultBytes = try product(rows.total, 8 * classes + 8, "\(perRow == "row" ? "rows" : "count") x result bytes per \(perRow)")
    try reserve(resultBytes, for: "the results of \(rows.text)")
}

/// The live model behind `handle`, if it reads `kind` and (for probabilities and classes) has logits:
/// the first checks of every classify entry point.
func classifyingModel(_ handle: OpaquePointer?, reads kind: InputContract.Kind, _ output: ClassifyOutput) throws(APIError) -> Model {
    let model = try modelHandles.object(handle)
    try requireInputKind(model, kind)
    try output.check(outputKindOf: model)
    return model
}

/// Checks every argument of a `rnn_classify_u8*` / `rnn_classify_f32*` call, then classifies.
///
/// The checks run in a fixed order and the first failure is reported: the handle, the model's kind
/// (image rows; probabilities and classes of a logits model), the lengths (`size_t` values above
/// `Int.max`), the pointers (NULL is allowed only for an empty buffer), the input length against
/// `count x height x width`, the output length, the memory the results need (checked allocation),
/// then (features only) finiteness. Output buffers are written by the callers only after the
/// runtime succeeded.
private func classifyImages(_ handle: OpaquePointer?, _ input: InputValues, inputLength: Int, count: Int,
                            output: ClassifyOutput, outputLength: Int) throws(APIError) -> BatchResult {
    let model = try classifyingModel(handle, reads: .imageRows, output)
    let inputLength = try length(inputLength, "\(input.name)_len")
    let count = try length(count, "count")
    let outputLength = try length(outputLength, "out_len")
    if input.isNull && (inputLength > 0 || count > 0) { throw .nullArgument("\(input.name) is NULL") }
    if output.isNull && (outputLength > 0 || count > 0) { throw .nullArgument("\(output.name) is NULL") }

    let perImage = model.pixelsPerImage
    let expected = try product(count, perImage, "count x height x width")
    guard inputLength == expected else {
        let shape = (model.inputKind == .image ? "\(model.input.channels)x" : "") + "\(model.input.height)x\(model.input.width)"
        throw .inputSize("\(input.name)_len is \(inputLength), but \(counted(count, "image")) of \(shape) "
            + "need \(expected) \(input.name)")
    }
    // A per-step image model has one output row per image row (count x height <= the input length).
    let height = model.input.height
    let rows = model.metadata.outputsPerStep
        ? OutputRows(count: count, total: count * height, text: "\(counted(count, "image")) x \(height) steps", noun: "image")
        : OutputRows(count: count, total: count, text: counted(count, "image"), noun: "image")
    try checkOutput(output, length: outputLength, rows: rows, model: model)
    guard count > 0 else { return try runtime { () throws(RuntimeError) in try model.classify(pixels: [UInt8]()) } }

    switch input {
    case .pixels(let pixels):
        let buffer = UnsafeBufferPointer(start: pixels, count: expected)
        return try runtime { () throws(RuntimeError) in try model.classify(pixels: buffer) }
    case .features(let features):
        let buffer = UnsafeBufferPointer(start: features, count: expected)
        // A NaN would silently become class 0 (every comparison with NaN is false); refuse it.
        if let bad = buffer.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("features[\(bad)] (image \(bad / perImage)) is \(buffer[bad]), expected a finite value")
        }
        return try runtime { () throws(RuntimeError) in try model.classify(features: buffer) }
    }
}

/// Copies `values` to the caller's buffer (its length was checked by ``checkOutput(_:length:rows:model:)``).
func write(_ values: [Float], to output: UnsafeMutablePointer<Float>?) {
    guard let output else { return }
    values.withUnsafeBufferPointer { source in
        if let base = source.baseAddress { output.update(from: base, count: source.count) }
    }
}

/// Copies the predicted classes (each below 65,536 by spec §9, so they fit `int32_t`).
func write(_ classes: [Int], to output: UnsafeMutablePointer<Int32>?) {
    guard let output else { return }
    for (index, value) in classes.enumerated() { output[index] = Int32(truncatingIfNeeded: value) }
}

/// The body every `rnn_classify_u8*` / `rnn_classify_f32*` entry point shares: check, classify,
/// copy the requested output.
private func classifyEntry(_ function: StaticString, _ model: OpaquePointer?, _ input: InputValues, _ inputLength: Int,
                           _ count: Int, _ output: ClassifyOutput, _ outputLength: Int) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let result = try classifyImages(model, input, inputLength: inputLength, count: count, output: output,
                                        outputLength: outputLength)
        output.write(result)
    }
}

/// Logits of raw `u8` images (header: `rnn_classify_u8`).
@c @implementation
public func rnn_classify_u8(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ pixelsLength: Int, _ count: Int,
                            _ outLogits: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_u8", model, .pixels(pixels), pixelsLength, count, .logits(outLogits), outLength)
}

/// Probabilities of raw `u8` images (header: `rnn_classify_u8_probabilities`).
@c @implementation
public func rnn_classify_u8_probabilities(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ pixelsLength: Int,
                                          _ count: Int, _ outProbabilities: UnsafeMutablePointer<Float>?,
                                          _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_u8_probabilities", model, .pixels(pixels), pixelsLength, count,
                  .probabilities(outProbabilities), outLength)
}

/// Predicted classes of raw `u8` images (header: `rnn_classify_u8_classes`).
@c @implementation
public func rnn_classify_u8_classes(_ model: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ pixelsLength: Int,
                                    _ count: Int, _ outClasses: UnsafeMutablePointer<Int32>?, _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_u8_classes", model, .pixels(pixels), pixelsLength, count, .classes(outClasses), outLength)
}

/// Logits of normalized features (header: `rnn_classify_f32`).
@c @implementation
public func rnn_classify_f32(_ model: OpaquePointer?, _ features: UnsafePointer<Float>?, _ featuresLength: Int, _ count: Int,
                             _ outLogits: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_f32", model, .features(features), featuresLength, count, .logits(outLogits), outLength)
}

/// Probabilities of normalized features (header: `rnn_classify_f32_probabilities`).
@c @implementation
public func rnn_classify_f32_probabilities(_ model: OpaquePointer?, _ features: UnsafePointer<Float>?, _ featuresLength: Int,
                                           _ count: Int, _ outProbabilities: UnsafeMutablePointer<Float>?,
                                           _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_f32_probabilities", model, .features(features), featuresLength, count,
                  .probabilities(outProbabilities), outLength)
}

/// Predicted classes of normalized features (header: `rnn_classify_f32_classes`).
@c @implementation
public func rnn_classify_f32_classes(_ model: OpaquePointer?, _ features: UnsafePointer<Float>?, _ featuresLength: Int,
                                     _ count: Int, _ outClasses: UnsafeMutablePointer<Int32>?, _ outLength: Int) -> rnn_status {
    classifyEntry("rnn_classify_f32_classes", model, .features(features), featuresLength, count, .classes(outClasses), outLength)
}
