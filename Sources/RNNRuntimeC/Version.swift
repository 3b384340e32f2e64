import CRNNRuntime

/// The version string, copied once from the header's `RNN_RUNTIME_VERSION_STRING` so that the
/// header stays the only place the version is written. Never freed; immutable after creation.
nonisolated(unsafe) private let versionString: UnsafeMutablePointer<CChar> = makeCString(RNN_RUNTIME_VERSION_STRING)

/// The status names of `rnn_status_name`, created once, never freed.
nonisolated(unsafe) private let statusNames: [UInt32: UnsafeMutablePointer<CChar>] = {
    let names: [(rnn_status, String)] = [
        (RNN_OK, "RNN_OK"),
        (RNN_ERROR_NULL_ARGUMENT, "RNN_ERROR_NULL_ARGUMENT"),
        (RNN_ERROR_INVALID_HANDLE, "RNN_ERROR_INVALID_HANDLE"),
        (RNN_ERROR_INVALID_ARGUMENT, "RNN_ERROR_INVALID_ARGUMENT"),
        (RNN_ERROR_BUFFER_TOO_SMALL, "RNN_ERROR_BUFFER_TOO_SMALL"),
        (RNN_ERROR_INPUT_SIZE, "RNN_ERROR_INPUT_SIZE"),
        (RNN_ERROR_IO, "RNN_ERROR_IO"),
        (RNN_ERROR_NOT_A_MODEL, "RNN_ERROR_NOT_A_MODEL"),
        (RNN_ERROR_TRUNCATED, "RNN_ERROR_TRUNCATED"),
        (RNN_ERROR_CORRUPTED, "RNN_ERROR_CORRUPTED"),
        (RNN_ERROR_UNSUPPORTED_VERSION, "RNN_ERROR_UNSUPPORTED_VERSION"),
        (RNN_ERROR_UNSUPPORTED_FEATURE, "RNN_ERROR_UNSUPPORTED_FEATURE"),
        (RNN_ERROR_LIMIT_EXCEEDED, "RNN_ERROR_LIMIT_EXCEEDED"),
        (RNN_ERROR_MALFORMED, "RNN_ERROR_MALFORMED"),
        (RNN_ERROR_SHAPE_MISMATCH, "RNN_ERROR_SHAPE_MISMATCH"),
        (RNN_ERROR_INVALID_TENSOR, "RNN_ERROR_INVALID_TENSOR"),
        (RNN_ERROR_UNSUPPORTED_MODEL, "RNN_ERROR_UNSUPPORTED_MODEL"),
        (RNN_ERROR_INTERNAL, "RNN_ERROR_INTERNAL"),
    ]
    return Dictionary(uniqueKeysWithValues: names.map { ($0.0.rawValue, makeCString($0.1)) })
}()

nonisolated(unsafe) private let unknownStatusName = makeCString("RNN_ERROR_UNKNOWN")

/// A heap copy of `text` with its NUL, for strings handed out for the life of the process.
private func makeCString(_ text: String) -> UnsafeMutablePointer<CChar> {
    let utf8 = Array(text.utf8CString)
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
    pointer.initialize(from: utf8, count: utf8.count)
    return pointer
}

/// `MAJOR * 10000 + MINOR * 100 + PATCH` of this library (header: `rnn_runtime_version`).
@c @implementation
public func rnn_runtime_version() -> UInt32 {
    UInt32(RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH)
}

/// The version as a static string such as "1.1.0" (header: `rnn_runtime_version_string`).
@c @implementation
public func rnn_runtime_version_string() -> UnsafePointer<CChar>? {
    UnsafePointer(versionString)
}

/// The enumerator's name of `status` (header: `rnn_status_name`).
@c @implementation
public func rnn_status_name(_ status: rnn_status) -> UnsafePointer<CChar>? {
    UnsafePointer(statusNames[status.rawValue] ?? unknownStatusName)
}

/// The calling thread's last error message (header: `rnn_last_error_message`).
@c @implementation
public func rnn_last_error_message() -> UnsafePointer<CChar>? {
    LastError.current
}
