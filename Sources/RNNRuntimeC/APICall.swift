import CRNNRuntime
import RNNFormat
import RNNRuntime

/// Runs the body of one C entry point: the single place where Swift errors become a status code.
///
/// Nothing thrown inside `body` crosses the C boundary. A failure sets the thread's last error
/// message to `"<function>: <what was expected and what was found>"`; a success clears it, so the
/// message always describes the most recent call (header: `rnn_last_error_message`).
func apiCall(_ function: StaticString, _ body: () throws(APIError) -> Void) -> rnn_status {
    do {
        try body()
        LastError.set(nil)
        return RNN_OK
    } catch {
        LastError.set("\(function): \(error)")
        return error.status
    }
}

/// `pointer`, or a ``APIError/nullArgument(_:)`` naming the parameter.
func required<T>(_ pointer: T?, _ name: String) throws(APIError) -> T {
    guard let pointer else { throw .nullArgument("\(name) is NULL") }
    return pointer
}

/// A `size_t` argument as a count: values above `Int.max` arrive negative through the importer
/// (`size_t` imports as `Int`) and are refused instead of wrapping.
func length(_ value: Int, _ name: String) throws(APIError) -> Int {
    guard value >= 0 else {
        throw .invalidArgument("\(name) is \(UInt(bitPattern: value)), above the largest supported size \(Int.max)")
    }
    return value
}

/// `a * b`, or an ``APIError/invalidArgument(_:)`` when the product does not fit.
func product(_ a: Int, _ b: Int, _ what: String) throws(APIError) -> Int {
    let (value, overflow) = a.multipliedReportingOverflow(by: b)
    guard !overflow else { throw .invalidArgument("\(what) (\(a) x \(b)) overflows size_t") }
    return value
}

/// Runs a ``RNNRuntime`` call, wrapping its typed error.
func runtime<T>(_ body: () throws(RuntimeError) -> T) throws(APIError) -> T {
    do {
        return try body()
    } catch {
        throw .runtime(error)
    }
}

/// Proves that `bytes` can be allocated before a caller's size drives an allocation, or an
/// ``APIError/limitExceeded(_:)`` naming `what` (RNNFormat's `CheckedAllocation.reserve`).
func reserve(_ bytes: Int, for what: String) throws(APIError) {
    do throws(ModelFormatError) {
        try CheckedAllocation.reserve(bytes, for: what)
    } catch {
        throw .limitExceeded(error.message)
    }
}
