/// A value behind a POSIX mutex: every access goes through ``withLock(_:)``.
///
/// The package's one lock. It is a `pthread_mutex_t` rather than the standard library's
/// `Synchronization.Mutex` because ThreadSanitizer sees a pthread mutex's hand-off: on Linux
/// `Mutex` parks contended threads with priority-inheritance futexes, whose ownership transfer
/// happens inside the kernel, so TSan reports the accesses on either side of it as races (seen
/// under `make tsan` when eight threads step one shared `Stream`).
package final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // @unchecked: `value` is only touched between pthread_mutex_lock and pthread_mutex_unlock.
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    package init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
