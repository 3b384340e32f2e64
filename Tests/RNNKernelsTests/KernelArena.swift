import RNNKernels
import Testing

/// The memory of a step kernel's precondition tests (StepPreconditionTests, GRUStepPreconditionTests):
/// every array of a step in one allocation, with room after each, so that an argument can be pointed
/// into another array (to overlap it) without leaving memory the test owns; "writes nothing" is
/// checked over the whole arena, whose every float starts as a sentinel bit pattern or a known
/// input value. A kernel's arena subclasses it and names its arrays.
class KernelArena {
    static let sentinel = Float(bitPattern: 0x7FC0_BEEF)   // a NaN no kernel computes
    /// Room after each array, so that a pointer moved a few floats stays inside the arena.
    static let gap = 128

    let memory: UnsafeMutablePointer<Float>
    let count: Int
    /// The arrays, in the order of `sizes`; the first `inputCount` are inputs.
    let arrays: [UnsafeMutablePointer<Float>]
    private let inputs: [(UnsafeMutablePointer<Float>, Int)]
    private let seed: UInt32

    init(sizes: [Int], inputCount: Int, seed: UInt32) {
        count = sizes.reduce(0) { $0 + $1 + Self.gap } + Self.gap
        memory = .allocate(capacity: count)
        var next = memory
        var placed: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            placed.append(next)
            next += size + Self.gap
        }
        arrays = placed
        inputs = Array(zip(placed[0..<inputCount], sizes[0..<inputCount]))
        self.seed = seed
        reset()
    }

    deinit { memory.deallocate() }

    /// Sentinels everywhere, then small deterministic values in the inputs.
    func reset() {
        memory.initialize(repeating: Self.sentinel, count: count)
        var state = seed
        for (p, n) in inputs {
            for i in 0..<n {
                state = state &* 1_664_525 &+ 1_013_904_223
                p[i] = Float(Int(state >> 16) % 200 - 100) / 400
            }
        }
    }

    func snapshot() -> [UInt32] { (0..<count).map { memory[$0].bitPattern } }

    /// Whether `rows` rows of `width` floats from `p`, `stride` apart, were all written (none is
    /// still the sentinel); true for an array not given.
    func written(_ p: UnsafeMutablePointer<Float>?, rows: Int32, stride: Int, width: Int) -> Bool {
        guard let p else { return true }
        return (0..<Int(rows)).allSatisfy { r in (0..<width).allSatisfy { p[r * stride + $0].bitPattern != Self.sentinel.bitPattern } }
    }
}

/// One rule of a kernel's preconditions, broken (or a valid neighbour of one): its name, the status
/// the kernel must return, and how it changes a valid call.
struct KernelViolation<Args, Arena>: CustomTestStringConvertible, Sendable {
    let name: String
    let status: Int32
    let apply: @Sendable (inout Args, Arena) -> Void
    var testDescription: String { name }
}

// MARK: - The rules both steps share

/// The fields the two steps' argument structures share (rnn_kernels.h), so that the rules on them
/// are written once (``KernelViolation/sharedStepRules(columns:units:rows:)``).
protocol StepArguments: SendableMetatype {
    var rows: Int32 { get set }
    var groups: Int32 { get set }
    var x: UnsafePointer<Float>! { get set }
    var x_stride: Int { get set }
    var x_width: Int32 { get set }
    var wx: UnsafePointer<Float>! { get set }
    var h: UnsafePointer<Float>! { get set }
    var h_stride: Int { get set }
    var h_width: Int32 { get set }
    var wh: UnsafePointer<Float>! { get set }
    var h_out: UnsafeMutablePointer<Float>! { get set }
    var h_out_stride: Int { get set }
    var gates_out: UnsafeMutablePointer<Float>! { get set }
    var gates_stride: Int { get set }
    var gates_hidden: Int32 { get set }
    var z_in: UnsafePointer<Float>! { get set }
    var z_in_stride: Int { get set }
}

extension rnnk_lstm_step_args: StepArguments {}
extension rnnk_gru_step_args: StepArguments {}

/// The arrays both steps' arenas hold: x, wx, h and wh are the first four, in that order.
protocol StepArena: KernelArena {
    var zIn: UnsafeMutablePointer<Float> { get }
}

extension StepArena {
    var x: UnsafeMutablePointer<Float> { arrays[0] }
    var wx: UnsafeMutablePointer<Float> { arrays[1] }
    var h: UnsafeMutablePointer<Float> { arrays[2] }
    var wh: UnsafeMutablePointer<Float> { arrays[3] }
}

extension KernelViolation where Args: StepArguments, Arena: StepArena {
    /// The broken rules on the shared fields, for a valid call of `r` rows of `u` units (2 groups)
    /// with every input given; `columns` is the pre-activation columns per group (LSTM 32, GRU 24).
    static func sharedStepRules(columns: Int, units u: Int, rows r: Int) -> [Self] {
        let z = columns / 8 * u   // a row of pre-activations
        return [
            Self(name: "rows < 0", status: RNNK_INVALID_SIZE) { a, _ in a.rows = -1 },
            Self(name: "groups 0", status: RNNK_INVALID_SIZE) { a, _ in a.groups = 0 },
            Self(name: "groups < 0", status: RNNK_INVALID_SIZE) { a, _ in a.groups = -2 },
            Self(name: "groups > INT_MAX / \(columns)", status: RNNK_INVALID_SIZE) { a, _ in a.groups = Int32.max / Int32(columns) + 1 },
            Self(name: "x_width < 0", status: RNNK_INVALID_SIZE) { a, _ in a.x_width = -1 },
            Self(name: "h_width < 0", status: RNNK_INVALID_SIZE) { a, _ in a.h_width = -16 },

            Self(name: "h_out NULL", status: RNNK_NULL_POINTER) { a, _ in a.h_out = nil },
            Self(name: "x NULL with x_width > 0", status: RNNK_NULL_POINTER) { a, _ in a.x = nil },
            Self(name: "wx NULL with x_width > 0", status: RNNK_NULL_POINTER) { a, _ in a.wx = nil },
            Self(name: "h NULL with h_width > 0", status: RNNK_NULL_POINTER) { a, _ in a.h = nil },
            Self(name: "wh NULL with h_width > 0", status: RNNK_NULL_POINTER) { a, _ in a.wh = nil },

            Self(name: "x_stride < x_width", status: RNNK_BAD_LAYOUT) { a, _ in a.x_stride = Int(a.x_width) - 1 },
            Self(name: "h_width neither 0 nor 8 groups (smaller)", status: RNNK_BAD_LAYOUT) { a, _ in a.h_width = 8 },
            Self(name: "h_width neither 0 nor 8 groups (larger)", status: RNNK_BAD_LAYOUT) { a, _ in a.h_width = 24 },
            Self(name: "h_stride < 8 groups", status: RNNK_BAD_LAYOUT) { a, _ in a.h_stride = u - 1 },
            Self(name: "h_out_stride < 8 groups", status: RNNK_BAD_LAYOUT) { a, _ in a.h_out_stride = u - 1 },
            Self(name: "negative stride", status: RNNK_BAD_LAYOUT) { a, _ in a.h_out_stride = -u },
            Self(name: "gates_hidden != 8 groups", status: RNNK_BAD_LAYOUT) { a, _ in a.gates_hidden = 8 },
            Self(name: "gates_stride < 4 gates_hidden", status: RNNK_BAD_LAYOUT) { a, _ in a.gates_stride = 4 * u - 1 },
            Self(name: "z_in_stride < \(columns) groups", status: RNNK_BAD_LAYOUT) { a, arena in
                a.z_in = UnsafePointer(arena.zIn); a.z_in_stride = z - 1
            },

            Self(name: "a row stride whose region overflows", status: RNNK_INVALID_SIZE) { a, _ in a.h_out_stride = Int.max / 2 },
            Self(name: "an input stride whose region overflows", status: RNNK_INVALID_SIZE) { a, _ in a.x_stride = Int.max / 3 },

            Self(name: "h_out overlaps h", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.h + (r - 1) * u + u - 1 },
            Self(name: "h_out is h (no update in place)", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.h },
            Self(name: "h_out overlaps x", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.x + 2 },
            Self(name: "h_out overlaps wx", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.wx + 50 },
            Self(name: "h_out overlaps z_in", status: RNNK_OVERLAP) { a, arena in
                a.z_in = UnsafePointer(arena.zIn); a.z_in_stride = z; a.h_out = arena.zIn + z * (r - 1)
            },
        ]
    }
}
