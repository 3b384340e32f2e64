import RNNSupport
import RNNRuntime

/// The live objects of one handle type, by handle: how the C API turns an `rnn_model *` back into
/// a ``Model`` and an `rnn_stream *` into a ``Stream``.
///
/// A handle is not an address. It is a token `base + serial * 16` with a serial that is never
/// reused, so a handle is never dereferenced, a freed handle (or one that never came from this
/// library) is recognized on every call instead of reading freed memory, and a new object can never
/// be reached through an old handle even when the allocator reuses addresses. The high bytes of
/// `base` spell "RNN" (models) or "RNS" (streams) and make the token a non-canonical x86-64 /
/// AArch64 address, so a caller that dereferences it anyway faults at once instead of reading
/// someone else's memory; they also tell a stream handle passed as a model (or the reverse) from
/// a freed one.
///
/// Looking a handle up returns a strong reference, so an object freed by one thread while another
/// uses it stays alive until that call returns.
final class HandleTable<Object: AnyObject & Sendable>: @unchecked Sendable {
    // @unchecked: every access to `objects` and `nextSerial` holds `lock`.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var objects: [UInt: Object] = [:]
    private var nextSerial: UInt = 1

    /// What the handles are, for messages: "model", "stream".
    private let noun: String
    /// The functions that create them, for messages.
    private let creators: String
    /// The high bytes of every token of this table.
    private let base: UInt

    /// Serials stay below 2^36 so that `serial * 16` stays in the low 40 bits, below `base`.
    private static var serialLimit: UInt { 1 << 36 }
    /// The bits a token's serial may occupy.
    private static var serialMask: UInt { (1 << 40) - 1 }

    init(noun: String, creators: String, base: UInt) {
        self.noun = noun
        self.creators = creators
        self.base = base
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    /// Registers `object` and returns its new handle.
    func insert(_ object: Object) throws(APIError) -> OpaquePointer {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard nextSerial < Self.serialLimit, let handle = OpaquePointer(bitPattern: base | (nextSerial << 4)) else {
            throw .invalidArgument("no handles left: \(Self.serialLimit - 1) \(noun)s were created in this process")
        }
        objects[UInt(bitPattern: Int(bitPattern: handle))] = object
        nextSerial += 1
        return handle
    }

    /// The live object behind `handle`.
    func object(_ handle: OpaquePointer?) throws(APIError) -> Object {
        guard let handle else { throw .nullArgument("\(noun) is NULL") }
        let key = UInt(bitPattern: Int(bitPattern: handle))
        pthread_rwlock_rdlock(lock)
        let object = objects[key]
        pthread_rwlock_unlock(lock)
        guard let object else { throw invalid(key) }
        return object
    }

    /// Unregisters `handle`; the object is released when its last in-flight call returns (and, for
    /// a model, when the last stream holding it is freed).
    func remove(_ handle: OpaquePointer) throws(APIError) {
        let key = UInt(bitPattern: Int(bitPattern: handle))
        pthread_rwlock_wrlock(lock)
        let removed = objects.removeValue(forKey: key)
        pthread_rwlock_unlock(lock)
        guard removed != nil else { throw invalid(key) }
    }

    /// "freed" when the token has our shape and a serial that was handed out, "a ... handle" when
    /// it has another table's shape, else "not a handle".
    private func invalid(_ key: UInt) -> APIError {
        let hex = "0x" + String(key, radix: 16)
        let serial = (key &- base) >> 4
        let looksIssued = key & ~Self.serialMask == base && key & 0xF == 0 && serial >= 1 && serial < issuedSerialBound
        if looksIssued { return .invalidHandle("\(noun) handle \(hex) was already freed") }
        if let other = handleNames[key & ~Self.serialMask], other != noun {
            return .invalidHandle("\(noun) handle \(hex) is a \(other) handle, not a \(noun)")
        }
        return .invalidHandle("\(noun) handle \(hex) did not come from \(creators)")
    }

    /// One past the highest serial handed out so far.
    private var issuedSerialBound: UInt {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return nextSerial
    }
}

/// The token bases of the handle types ("RNN" = 0x52 0x4E 0x4E, "RNS" = 0x52 0x4E 0x53).
private let modelBase: UInt = 0x524E_4E00_0000_0000
private let streamBase: UInt = 0x524E_5300_0000_0000
private let handleNames: [UInt: String] = [modelBase: "model", streamBase: "stream"]

/// The live models of the process (`rnn_model *`).
let modelHandles = HandleTable<Model>(noun: "model", creators: "rnn_model_load or rnn_model_load_from_memory", base: modelBase)

/// The live streams of the process (`rnn_stream *`).
let streamHandles = HandleTable<Stream>(noun: "stream", creators: "rnn_stream_create", base: streamBase)
