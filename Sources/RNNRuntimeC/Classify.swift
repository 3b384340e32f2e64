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

/// Checks every argument of a `rnn_classify_*` call, then classifies.
///
/// The checks run in a fixed order and the first failure is reported: the handle, the lengths
/// (`size_t` values above `Int.max`), the pointers (NULL is allowed only for an empty buffer), the
/// input length against `count x height x width`, the output length, the memory the results
/// need (checked allocation), then (features only) finiteness. Output buffers are written by the
/// callers only after the runtime succeeded.
///
/// - Parameter rowsOfClasses: `true` when the output holds `classes` floats per image (logits,
///   probabilities), `false` when it holds one class index per image.
func classifyChecked(_ handle: OpaquePointer?, _ input: InputValues, inputLength: Int, count: Int,
                     output: UnsafeMutableRawPointer?, outputLength: Int, outputName: String,
                     rowsOfClasses: Bool) throws(APIError) -> BatchResult {
    let model = try HandleTable.shared.model(handle)
    let inputLength = try length(inputLength, "\(input.name)_len")
    let count = try length(count, "count")
    let outputLength = try length(outputLength, "out_len")
    if input.isNull && (inputLength > 0 || count > 0) { throw .nullArgument("\(input.name) is NULL") }
    if output == nil && (outputLength > 0 || count > 0) { throw .nullArgument("\(outputName) is NULL") }

    let perImage = model.pixelsPerImage
    let expected = try product(count, perImage, "count x height x width")
    guard inputLength == expected else {
        throw .inputSize("\(input.name)_len is \(inputLength), but \(images(count)) of \(model.input.height)x\(model.input.width) "
            + "need \(expected) \(input.name)")
    }
    let needed = rowsOfClasses ? try product(count, model.classCount, "count x classes") : count
    guard outputLength >= needed else {
        let what = rowsOfClasses ? "\(images(count)) x \(model.classCount) classes need \(needed) floats"
                                 : "\(images(count)) need \(needed) classes"
        throw .bufferTooSmall("out_len is \(outputLength), but \(what)")
    }
    guard count > 0 else { return try runtime { () throws(RuntimeError) in try model.classify(pixels: [UInt8]()) } }
    // The runtime keeps logits, probabilities and predictions of the whole batch in Swift arrays
    // (2 x classes floats + one Int per image), which abort when memory runs out, whichever of the
    // three the caller asked for: prove the caller's count can be held first.
    let resultBytes = try product(count, 8 * model.classCount + 8, "count x result bytes per image")
    do throws(ModelFormatError) {
        try CheckedAllocation.reserve(resultBytes, for: "the results of \(images(count))")
    } catch {
        throw .limitExceeded(error.message)
    }

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

/// "1 image", "2 images".
private func images(_ count: Int) -> String {
    count == 1 ? "1 image" : "\(count) images"
}

/// Copies `values` to the caller's buffer (its length was checked by ``classifyChecked``).
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

/// What a classify entry point writes, and where.
private enum ClassifyOutput {
    case logits(UnsafeMutablePointer<Float>?)
    case probabilities(UnsafeMutablePointer<Float>?)
    case classes(UnsafeMutablePointer<Int32>?)
}

/// The body every `rnn_classify_*` entry point shares: check, classify, copy the requested output.
private func classifyEntry(_ function: StaticString, _ model: OpaquePointer?, _ input: InputValues, _ inputLength: Int,
                           _ count: Int, _ output: ClassifyOutput, _ outputLength: Int) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let (pointer, name, rows): (UnsafeMutableRawPointer?, String, Bool) = switch output {
        case .logits(let p): (UnsafeMutableRawPointer(p), "out_logits", true)
        case .probabilities(let p): (UnsafeMutableRawPointer(p), "out_probabilities", true)
        case .classes(let p): (UnsafeMutableRawPointer(p), "out_classes", false)
        }
        let result = try classifyChecked(model, input, inputLength: inputLength, count: count, output: pointer,
                                         outputLength: outputLength, outputName: name, rowsOfClasses: rows)
        switch output {
        case .logits(let p): write(result.logits, to: p)
        case .probabilities(let p): write(result.probabilities, to: p)
        case .classes(let p): write(result.predictions, to: p)
        }
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
