import RNNFormat
import RNNRuntime

// Which functions run which model (header: "Model kinds"). Every classify and stream entry point
// checks the model's kind right after its handle, before any other argument, so that a program
// written for one kind gets one clear message (RNN_ERROR_UNSUPPORTED_MODEL) for a model of another.

extension InputContract.Kind {
    /// What a model of this kind reads, for messages.
    var reads: String {
        switch self {
        case .imageRows: "images"
        case .image: "whole images"
        case .features: "feature sequences"
        case .tokens: "texts"
        }
    }

    /// The C functions that classify this kind of input, for messages.
    var classifyFunctions: String {
        switch self {
        case .imageRows, .image: "rnn_classify_u8* or rnn_classify_f32*"
        case .features: "rnn_classify_features*"
        case .tokens: "rnn_classify_texts*"
        }
    }
}

/// Refuses a model that does not read `kind`, naming what it reads and the functions for it
/// (or `use`, when given).
func requireInputKind(_ model: Model, _ kind: InputContract.Kind, use: String? = nil) throws(APIError) {
    let actual = model.inputKind
    // The image functions run both image kinds: rows read one per step, or whole images (since 1.2).
    guard actual != kind && !(kind == .imageRows && actual == .image) else { return }
    throw .unsupportedModel("the model reads \(actual.reads) (input kind '\(actual.rawValue)'), not \(kind.reads): "
        + "use \(use ?? actual.classifyFunctions)")
}

/// Whether `model` can stream: the rule of spec §6.5 that ``RNNRuntime/Model/makeStream(count:options:)``
/// applies (no bidirectional layer, not a text model, no pool layer). `CAPIStreamTests` checks that the two agree
/// on every kind of model.
func canStream(_ model: Model) -> Bool {
    !model.metadata.hasBidirectionalLayer && model.inputKind != .tokens && model.inputKind != .image && model.metadata.poolLayer == nil
        && !model.metadata.hasConv1dLayer
}
