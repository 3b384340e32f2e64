import CRNNRuntime
import RNNRuntime
import RNNFormat

/// Why a C API call failed: each case becomes one `rnn_status` and one message.
///
/// Messages name the argument, what was expected and what was found, so that a C caller can print
/// `rnn_last_error_message()` verbatim.
enum APIError: Error, CustomStringConvertible {
    /// A required pointer argument was `NULL`.
    case nullArgument(String)
    /// A handle that is not (or no longer) a live model.
    case invalidHandle(String)
    /// A value outside its allowed range.
    case invalidArgument(String)
    /// An output buffer shorter than the result.
    case bufferTooSmall(String)
    /// An input length that is not `count x height x width`.
    case inputSize(String)
    /// A size the caller asked for that this process cannot allocate.
    case limitExceeded(String)
    /// A function for another kind of model (input kind, output kind, streaming).
    case unsupportedModel(String)
    /// The runtime refused the model file, the network, or the input.
    case runtime(RuntimeError)

    var description: String {
        switch self {
        case .nullArgument(let m), .invalidHandle(let m), .invalidArgument(let m), .bufferTooSmall(let m), .inputSize(let m),
             .limitExceeded(let m), .unsupportedModel(let m):
            m
        case .runtime(let error):
            error.description
        }
    }

    /// The status code the header documents for this failure.
    var status: rnn_status {
        switch self {
        case .nullArgument: RNN_ERROR_NULL_ARGUMENT
        case .invalidHandle: RNN_ERROR_INVALID_HANDLE
        case .invalidArgument: RNN_ERROR_INVALID_ARGUMENT
        case .bufferTooSmall: RNN_ERROR_BUFFER_TOO_SMALL
        case .inputSize: RNN_ERROR_INPUT_SIZE
        case .limitExceeded: RNN_ERROR_LIMIT_EXCEEDED
        case .unsupportedModel: RNN_ERROR_UNSUPPORTED_MODEL
        case .runtime(let error): error.status
        }
    }
}

extension RuntimeError {
    /// The status of a runtime failure: file errors keep their spec §8 class.
    var status: rnn_status {
        switch self {
        case .unreadableModel(_, let error): error.kind.status
        case .unsupportedModel: RNN_ERROR_UNSUPPORTED_MODEL
        case .imageSizeMismatch, .imageShapeMismatch, .inputLengthMismatch, .featureCountMismatch, .stateSizeMismatch: RNN_ERROR_INPUT_SIZE
        // Every entry point checks the model's kind first (ModelKinds.swift), so this is a backstop.
        case .inputKindMismatch, .notStreamable: RNN_ERROR_UNSUPPORTED_MODEL
        // The C API passes only default options and checks stream counts and indices itself, so an
        // invalid option is the library's own mistake.
        case .invalidOption, .kernelUnavailable: RNN_ERROR_INTERNAL
        case .sequenceLength, .nonFiniteInput: RNN_ERROR_INVALID_ARGUMENT
        }
    }
}

extension ModelFormatError.Kind {
    /// One status per error class of spec §8 (codes 10...19 of the header).
    var status: rnn_status {
        switch self {
        case .io: RNN_ERROR_IO
        case .notAModel: RNN_ERROR_NOT_A_MODEL
        case .truncated: RNN_ERROR_TRUNCATED
        case .corrupted: RNN_ERROR_CORRUPTED
        case .unsupportedVersion: RNN_ERROR_UNSUPPORTED_VERSION
        case .unsupportedFeature: RNN_ERROR_UNSUPPORTED_FEATURE
        case .limitExceeded: RNN_ERROR_LIMIT_EXCEEDED
        case .malformed: RNN_ERROR_MALFORMED
        case .shapeMismatch: RNN_ERROR_SHAPE_MISMATCH
        case .invalidTensor: RNN_ERROR_INVALID_TENSOR
        }
    }
}
