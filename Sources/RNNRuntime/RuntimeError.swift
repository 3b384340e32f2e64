import RNNFormat

/// Why the runtime refused a model or an input.
///
/// Every message names what was expected and what was found, so that a command-line tool can print
/// it verbatim as its one-line diagnostic.
public enum RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model file could not be read or failed the format checks of spec §7.
    ///
    /// `path` is `nil` when the model came from bytes in memory; `error` is the format reader's,
    /// whose ``RNNFormat/ModelFormatError/kind`` is the error class of spec §8 (or `io`).
    case unreadableModel(path: String?, error: ModelFormatError)
    /// The model is valid by the format but uses something this runtime cannot run.
    case unsupportedModel(String)
    /// Images of `found` size were given to a model whose input contract (spec §6.2) wants `expected`.
    case imageSizeMismatch(expectedHeight: Int, expectedWidth: Int, foundHeight: Int, foundWidth: Int)
    /// Images of shape `found` (channels, height, width) given to an `image` model (spec §6.2.3) that
    /// reads `expected`.
    case imageShapeMismatch(expected: [Int], found: [Int])
    /// Input of one kind (images, tokens) given to a model that reads the other.
    case inputKindMismatch(model: InputContract.Kind, given: InputContract.Kind)
    /// A flat input buffer whose length is not a whole number of images (or feature sequences).
    case inputLengthMismatch(valuesPerImage: Int, found: Int, what: String)
    /// An option outside its allowed range (threads, block size, top-k).
    case invalidOption(name: String, expected: String, found: Int)
    /// ``StepKernel/fused(_:)`` asked for a kernel variant this CPU (or build) does not have.
    case kernelUnavailable(requested: FusedKernel, available: FusedKernel)
    /// Sequence `index` has `length` steps; a `features` model takes 1 ... `maxLength` (spec §6.2.2).
    case sequenceLength(index: Int, length: Int, maxLength: Int)
    /// A source value is NaN or infinite: sequence `index`, step `step`, feature `feature`.
    case nonFiniteInput(index: Int, step: Int, feature: Int, value: Float)
    /// A step (or a sequence) of `found` values given to a model that reads `expected` per step.
    case featureCountMismatch(expected: Int, found: Int, what: String)
    /// The model cannot be stepped as a stream (bidirectional layers, text), with the reason.
    case notStreamable(String)
    /// A stream state of the wrong size was given to ``Stream/restore(_:)``.
    case stateSizeMismatch(expected: Int, found: Int)

    /// The one-line message: what was expected and what was found.
    public var description: String {
        switch self {
        case .unreadableModel(let path, let error):
            if let path { return "cannot load model '\(path)': \(error)" }
            return "cannot load model: \(error)"
        case .unsupportedModel(let reason):
            return "unsupported model: \(reason)"
        case .imageSizeMismatch(let eh, let ew, let fh, let fw):
            return "expected \(eh * ew) pixels per image (\(eh)x\(ew)), found \(fh * fw) (\(fh)x\(fw))"
        case .imageShapeMismatch(let expected, let found):
            let text = { (shape: [Int]) in shape.map(String.init).joined(separator: "x") }
            return "expected images of \(text(expected)) (channels x height x width), found \(text(found))"
        case .inputKindMismatch(let model, let given):
            return "expected input of kind '\(model.rawValue)' (what this model reads), found '\(given.rawValue)'"
        case .inputLengthMismatch(let per, let found, let what):
            return "expected a multiple of \(per) \(what) per image, found \(found) in total"
        case .invalidOption(let name, let expected, let found):
            return "invalid \(name): expected \(expected), found \(found)"
        case .kernelUnavailable(let requested, let available):
            return "kernel '\(requested.rawValue)' is not available on this CPU: expected one of "
                + "\(FusedKernel.supported.map { "'\($0.rawValue)'" }.joined(separator: ", ")), found '\(requested.rawValue)'"
                + " (best here: '\(available.rawValue)')"
        case .sequenceLength(let index, let length, let maxLength):
            return "sequence \(index): expected 1...\(maxLength) steps, found \(length)"
        case .nonFiniteInput(let index, let step, let feature, let value):
            return "sequence \(index), step \(step), feature \(feature): expected a finite number, found \(value)"
        case .featureCountMismatch(let expected, let found, let what):
            return "expected \(expected) features per step, found \(found) (\(what))"
        case .notStreamable(let reason):
            return "this model cannot be streamed: \(reason)"
        case .stateSizeMismatch(let expected, let found):
            return "expected a stream state of \(expected) values, found \(found)"
        }
    }
}
