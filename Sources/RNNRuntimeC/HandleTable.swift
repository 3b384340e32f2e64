import RNNSupport
import RNNRuntime

/// The live models, by handle: how the C API turns an `rnn_model *` back into a ``Model``.
///
/// A handle is not an address. It is a token `base + serial * 16` with a serial that is never
/// reused, so a handle is never dereferenced, a freed handle (or one that never came from this
/// library) is recognized on every call instead of reading freed memory, and a new model can never
/// be reached through an old handle even when the allocator reuses addresses. The high bytes of
/// `base` spell "RNN" and make the token a non-canonical x86-64 / AArch64 address, so a caller that
/// dereferences it anyway faults at once instead of reading someone else's memory.
///
/// Looking a handle up returns a strong reference, so a model freed by one thread while another
/// classifies with it stays alive until that call returns.
final class HandleTable: @unchecked Sendable {
    // @unchecked: every access to `models` and `nextSerial` holds `lock`.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var models: [UInt: Model] = [:]
    private var nextSerial: UInt = 1

    /// The high bytes of every token ("RNN" = 0x52 0x4E 0x4E).
    private static let base: UInt = 0x524E_4E00_0000_0000
    /// Serials stay below 2^36 so that `serial * 16` stays in the low 40 bits, below `base`.
    private static let serialLimit: UInt = 1 << 36
    /// The bits a token's serial may occupy.
    private static let serialMask: UInt = (1 << 40) - 1

    /// The one table of the process.
    static let shared = HandleTable()

    private init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    /// Registers `model` and returns its new handle.
    func insert(_ model: Model) throws(APIError) -> OpaquePointer {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard nextSerial < Self.serialLimit, let handle = OpaquePointer(bitPattern: Self.base | (nextSerial << 4)) else {
            throw .invalidArgument("no handles left: \(Self.serialLimit - 1) models were loaded in this process")
        }
        models[UInt(bitPattern: Int(bitPattern: handle))] = model
        nextSerial += 1
        return handle
    }

    /// The live model behind `handle`.
    func model(_ handle: OpaquePointer?) throws(APIError) -> Model {
        guard let handle else { throw .nullArgument("model is NULL") }
        let key = UInt(bitPattern: Int(bitPattern: handle))
        pthread_rwlock_rdlock(lock)
        let model = models[key]
        pthread_rwlock_unlock(lock)
        guard let model else { throw Self.invalid(key) }
        return model
    }

    /// Unregisters `handle`; the model is released when its last in-flight call returns.
    func remove(_ handle: OpaquePointer) throws(APIError) {
        let key = UInt(bitPattern: Int(bitPattern: handle))
        pthread_rwlock_wrlock(lock)
        let removed = models.removeValue(forKey: key)
        pthread_rwlock_unlock(lock)
        guard removed != nil else { throw Self.invalid(key) }
    }

    /// "freed" when the token has our shape and a serial that was handed out, else "not a handle".
    private static func invalid(_ key: UInt) -> APIError {
        let hex = "0x" + String(key, radix: 16)
        let serial = (key &- base) >> 4
        let looksIssued = key & ~serialMask == base && key & 0xF == 0 && serial >= 1
            && serial < shared.issuedSerialBound
        return .invalidHandle(looksIssued
            ? "model handle \(hex) was already freed"
            : "model handle \(hex) did not come from rnn_model_load or rnn_model_load_from_memory")
    }

    /// One past the highest serial handed out so far.
    private var issuedSerialBound: UInt {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return nextSerial
    }
}
