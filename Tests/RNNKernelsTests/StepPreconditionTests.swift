import RNNKernels
import Testing

/// Every precondition of `rnnk_lstm_step` (rnn_kernels.h) on its own: a call that breaks one returns
/// that check's status and writes nothing, and the valid neighbours of each rule still compute.
///
/// All arrays of the step live in one arena (``KernelArena``), so an argument can be pointed into
/// another array (to overlap it) without leaving memory the test owns; "writes nothing" is checked
/// over the whole arena.
struct StepPreconditionTests {
    static let best = rnnk_detect_isa()
    static let runnable = best != RNNK_ISA_NONE

    /// A valid step of 3 rows, 2 groups (16 units), 5 inputs, every optional array given.
    final class Arena: KernelArena, StepArena {
        static let rows = 3, groups = 2, units = 16, xWidth = 5

        // x, wx, h, wh: arrays 0 to 3 (StepArena).
        var bias: UnsafeMutablePointer<Float> { arrays[4] }
        var zIn: UnsafeMutablePointer<Float> { arrays[5] }
        var cPrev: UnsafeMutablePointer<Float> { arrays[6] }
        var cOut: UnsafeMutablePointer<Float> { arrays[7] }
        var hOut: UnsafeMutablePointer<Float> { arrays[8] }
        var gates: UnsafeMutablePointer<Float> { arrays[9] }
        var cellTanh: UnsafeMutablePointer<Float> { arrays[10] }

        init() {
            let r = Self.rows, g = Self.units, z = 4 * g
            super.init(sizes: [r * Self.xWidth, z * Self.xWidth, r * g, z * g, z, r * z, r * g,   // inputs
                               r * g, r * g, r * z, r * g],                                      // outputs
                       inputCount: 7, seed: 12345)
        }

        /// Whether every output float was written (none is still the sentinel).
        func outputsWritten(_ args: rnnk_lstm_step_args) -> Bool {
            let g = 8 * Int(args.groups)
            return written(args.c_out, rows: args.rows, stride: args.c_stride, width: g)
                && written(args.h_out, rows: args.rows, stride: args.h_out_stride, width: g)
                && written(args.gates_out, rows: args.rows, stride: args.gates_stride, width: 4 * g)
                && written(args.cell_tanh_out, rows: args.rows, stride: args.c_stride, width: g)
        }

        /// Every argument given, the strides the tightest allowed.
        func valid() -> rnnk_lstm_step_args {
            let r = Self.rows, g = Self.units
            return rnnk_lstm_step_args(
                rows: Int32(r), groups: Int32(Self.groups), x: x, x_stride: Self.xWidth, x_width: Int32(Self.xWidth), wx: wx,
                h: h, h_stride: g, h_width: Int32(g), wh: wh, bias: bias,
                c_prev: cPrev, c_out: cOut, c_stride: g, h_out: hOut, h_out_stride: g,
                gates_out: gates, gates_stride: 4 * g, gates_hidden: Int32(g), cell_tanh_out: cellTanh,
                z_in: nil, z_in_stride: 0)
        }
    }

    typealias Violation = KernelViolation<rnnk_lstm_step_args, Arena>

    static let u = Arena.units, r = Arena.rows
    /// The rules on the fields both steps share (KernelArena.swift), then this kernel's own.
    static let violations: [Violation] = Violation.sharedStepRules(columns: 32, units: u, rows: r) + [
        Violation(name: "c_out NULL", status: RNNK_NULL_POINTER) { a, _ in a.c_out = nil },
        Violation(name: "bias and z_in both NULL", status: RNNK_NULL_POINTER) { a, _ in a.bias = nil },
        Violation(name: "cell_tanh_out without gates_out", status: RNNK_NULL_POINTER) { a, _ in a.gates_out = nil },

        Violation(name: "c_stride < 8 groups", status: RNNK_BAD_LAYOUT) { a, _ in a.c_stride = u - 1 },

        Violation(name: "an output at the top of the address space", status: RNNK_INVALID_SIZE) { a, _ in
            a.cell_tanh_out = UnsafeMutablePointer(bitPattern: UInt.max - 63)
        },

        Violation(name: "h_out is c_out", status: RNNK_OVERLAP) { a, _ in a.h_out = a.c_out },
        Violation(name: "h_out ends in c_out", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.cOut - (r * u - 1) },
        Violation(name: "c_out overlaps c_prev without being it", status: RNNK_OVERLAP) { a, arena in a.c_out = arena.cPrev + 8 },
        Violation(name: "c_out overlaps h", status: RNNK_OVERLAP) { a, arena in a.c_out = arena.h + 8 },
        Violation(name: "cell_tanh_out is c_out", status: RNNK_OVERLAP) { a, _ in a.cell_tanh_out = a.c_out },
        Violation(name: "gates_out overlaps h_out", status: RNNK_OVERLAP) { a, arena in a.gates_out = arena.hOut + u },
        Violation(name: "c_out overlaps wh", status: RNNK_OVERLAP) { a, arena in a.c_out = arena.wh + 4 * u * u - 1 },
        Violation(name: "gates_out overlaps bias", status: RNNK_OVERLAP) { a, arena in a.gates_out = arena.bias - 4 * u * r + 1 },
        Violation(name: "rows interleaved in one buffer (compared first to last float)", status: RNNK_OVERLAP) { a, arena in
            // h_out's rows in the gaps of c_out's: no float is shared, but the spans overlap.
            a.c_stride = 2 * u; a.cell_tanh_out = nil; a.c_prev = nil
            a.c_out = arena.gates; a.h_out = arena.gates + u; a.h_out_stride = 2 * u; a.gates_out = nil
        },
    ]

    @Test(.enabled(if: runnable, "no fused variant on this CPU"), arguments: violations)
    func aBrokenPreconditionReturnsItsStatusAndWritesNothing(_ violation: Violation) {
        let arena = Arena()
        var args = arena.valid()
        violation.apply(&args, arena)
        #expect(rnnk_lstm_step_check(&args) == violation.status)
        for isa in [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON] where rnnk_isa_available(isa) != 0 {
            let before = arena.snapshot()
            #expect(rnnk_lstm_step(isa, &args) == violation.status, "isa \(isa.rawValue)")
            #expect(arena.snapshot() == before, "isa \(isa.rawValue) wrote memory")
        }
    }

    @Test func theChecksAloneRunOnEveryCPU() {
        let arena = Arena()
        var args = arena.valid()
        #expect(rnnk_lstm_step_check(&args) == RNNK_OK)
        for violation in Self.violations {
            var broken = arena.valid()
            violation.apply(&broken, arena)
            #expect(rnnk_lstm_step_check(&broken) == violation.status, "\(violation.name)")
        }
        #expect(rnnk_lstm_step_check(nil) == RNNK_NULL_POINTER)
    }

    @Test(.enabled(if: runnable, "no fused variant on this CPU"))
    func noArgumentsIsANullPointerButAnUnavailableVariantComesFirst() {
        #expect(rnnk_lstm_step(Self.best, nil) == RNNK_NULL_POINTER)
        #expect(rnnk_lstm_step(RNNK_ISA_NONE, nil) == RNNK_NULL_POINTER)  // the portable variant runs everywhere
        #expect(rnnk_lstm_step(rnnk_isa(rawValue: 7), nil) == RNNK_UNAVAILABLE)
    }

    /// The valid neighbours of the rules: each computes (status 0, every output written), and a
    /// row's results do not depend on which optional outputs are asked for.
    static let validCases: [Violation] = [
        Violation(name: "every argument given", status: RNNK_OK) { _, _ in },
        Violation(name: "c updated in place (c_prev == c_out)", status: RNNK_OK) { a, arena in
            arena.cOut.update(from: arena.cPrev, count: r * u); a.c_prev = UnsafePointer(arena.cOut)
        },
        Violation(name: "first step: h NULL, h_width 0, c_prev NULL", status: RNNK_OK) { a, _ in
            a.h = nil; a.h_width = 0; a.wh = nil; a.c_prev = nil; a.h_stride = 0
        },
        Violation(name: "h given with h_width 0 is not read", status: RNNK_OK) { a, _ in a.h_width = 0; a.wh = nil },
        Violation(name: "z_in instead of bias, no x", status: RNNK_OK) { a, arena in
            a.z_in = UnsafePointer(arena.zIn); a.z_in_stride = 4 * u; a.bias = nil
            a.x = nil; a.wx = nil; a.x_width = 0; a.x_stride = 0
        },
        Violation(name: "no optional outputs, zero strides for them", status: RNNK_OK) { a, _ in
            a.gates_out = nil; a.gates_stride = 0; a.gates_hidden = 0; a.cell_tanh_out = nil
        },
        Violation(name: "h_out right after h, c_out right after h_out (touching, not overlapping)", status: RNNK_OK) { a, arena in
            a.h_out = arena.h + r * u; a.c_out = arena.h + 2 * r * u; a.c_prev = nil
        },
        Violation(name: "wider strides than the rows", status: RNNK_OK) { a, arena in
            a.h_out = arena.gates; a.h_out_stride = 4 * u + 3
            a.gates_out = nil; a.gates_hidden = 0; a.cell_tanh_out = nil
        },
    ]

    @Test(.enabled(if: runnable, "no fused variant on this CPU"), arguments: validCases)
    func validCallsStillCompute(_ valid: Violation) {
        for isa in [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON] where rnnk_isa_available(isa) != 0 {
            let arena = Arena()
            var args = arena.valid()
            valid.apply(&args, arena)
            #expect(rnnk_lstm_step_check(&args) == RNNK_OK)
            #expect(rnnk_lstm_step(isa, &args) == RNNK_OK, "isa \(isa.rawValue)")
            #expect(arena.outputsWritten(args), "isa \(isa.rawValue)")
        }
    }

    @Test(.enabled(if: runnable, "no fused variant on this CPU"))
    func zeroRowsComputeNothingAndWriteNothing() {
        let arena = Arena()
        var args = arena.valid()
        args.rows = 0
        let before = arena.snapshot()
        #expect(rnnk_lstm_step(Self.best, &args) == RNNK_OK)
        #expect(arena.snapshot() == before)
    }

    @Test(.enabled(if: runnable, "no fused variant on this CPU"))
    func inPlaceCellUpdateMatchesSeparateBuffers() {
        let arena = Arena()
        var args = arena.valid()
        #expect(rnnk_lstm_step(Self.best, &args) == RNNK_OK)
        let separate = (0..<Arena.rows * Arena.units).map { arena.cOut[$0] }
        arena.reset()
        arena.cOut.update(from: arena.cPrev, count: Arena.rows * Arena.units)
        args.c_prev = UnsafePointer(arena.cOut)
        #expect(rnnk_lstm_step(Self.best, &args) == RNNK_OK)
        #expect((0..<Arena.rows * Arena.units).map { arena.cOut[$0] } == separate)
    }

    @Test func everyStatusHasAMessage() {
        let statuses = [RNNK_OK, RNNK_UNAVAILABLE, RNNK_INVALID_SIZE, RNNK_NULL_POINTER, RNNK_BAD_LAYOUT, RNNK_OVERLAP]
        #expect(RNNK_UNAVAILABLE == -1 && RNNK_OK == 0)
        #expect(Set(statuses).count == statuses.count)
        let messages = statuses.map { String(cString: rnnk_status_message($0)) }
        #expect(Set(messages).count == statuses.count)
        #expect(String(cString: rnnk_status_message(-99)) == "unknown status")
    }
}
