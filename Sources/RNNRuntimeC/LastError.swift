import RNNSupport

/// The thread-local message behind `rnn_last_error_message()`.
///
/// Each thread owns one `malloc`ed C string, stored under a pthread key whose destructor frees it
/// when the thread exits. Swift has no thread-local variables, and the header promises a message
/// that stays valid until the same thread's next call, which a per-thread heap string gives.
enum LastError {
    /// The key, created once per process (global initializers run exactly once, thread-safely).
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        guard pthread_key_create(&key, { free($0) }) == 0 else { return nil }
        return key
    }()

    /// What `rnn_last_error_message()` returns after a success: one NUL byte, allocated once and
    /// never written again (hence `nonisolated(unsafe)`: a raw pointer is not `Sendable`).
    nonisolated(unsafe) private static let empty: UnsafeMutablePointer<CChar> = {
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return pointer
    }()

    /// Replaces the calling thread's message; `nil` clears it (after a successful call).
    static func set(_ message: String?) {
        guard let key else { return }
        if let old = pthread_getspecific(key) {
            free(old)
        }
        // strdup copies the bytes up to the first NUL; a failed allocation leaves no message
        // rather than a crash.
        let copy: UnsafeMutablePointer<CChar>? = message.flatMap { strdup($0) }
        pthread_setspecific(key, copy)
    }

    /// The calling thread's message, or the empty string.
    static var current: UnsafePointer<CChar> {
        if let key, let message = pthread_getspecific(key) {
            return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
        }
        return UnsafePointer(empty)
    }
}
