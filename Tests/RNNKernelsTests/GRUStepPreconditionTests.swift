import RNNKernels
import Testing

/// Every precondition of `rnnk_gru_step` (rnn_kernels.h) on its own: a call that breaks one returns
/// that check's status and writes nothing, and the valid neighbours of each rule still compute. The
/// portable variant (`RNNK_ISA_NONE`) runs on every CPU, so these run everywhere; the vector
/// variants are checked too where the CPU has them.
///
/// As in StepPreconditionTests, all arrays live in one arena of sentinels and known inputs
/// (``KernelArena``), so an argument can point into another array without leaving memory the test owns.
struct GRUStepPreconditionTests {
    static let variants = [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON].filter { rnnk_isa_available($0) != 0 }

    /// A valid two-phase step (reset before the recurrent product) of 3 rows, 2 groups (16 units),
    /// 5 inputs, every optional array given.
    final class Arena: KernelArena, StepArena {
        static let rows = 3, groups = 2, units = 16, xWidth = 5

        // x, wx, h, wh: arrays 0 to 3 (StepArena).
        var biasX: UnsafeMutablePointer<Float> { arrays[4] }
        var biasHN: UnsafeMutablePointer<Float> { arrays[5] }
        var zIn: UnsafeMutablePointer<Float> { arrays[6] }
        var hOut: UnsafeMutablePointer<Float> { arrays[7] }
        var gates: UnsafeMutablePointer<Float> { arrays[8] }
        var scratch: UnsafeMutablePointer<Float> { arrays[9] }

        init() {
            let r = Self.rows, g = Self.units, z = 3 * g
            super.init(sizes: [r * Self.xWidth, z * Self.xWidth, r * g, z * g, z, g, r * z,   // inputs
                               r * g, r * 4 * g, r * 3 * g],                                 // outputs, scratch
                       inputCount: 7, seed: 54321)
        }

        /// Whether every output float was written (none is still the sentinel).
        func outputsWritten(_ args: rnnk_gru_step_args) -> Bool {
            let g = 8 * Int(args.groups)
            return written(args.h_out, rows: args.rows, stride: args.h_out_stride, width: g)
                && written(args.gates_out, rows: args.rows, stride: args.gates_stride, width: 4 * g)
        }

        /// Every argument given, the strides the tightest allowed.
        func valid() -> rnnk_gru_step_args {
            let r = Self.rows, g = Self.units
            return rnnk_gru_step_args(
                rows: Int32(r), groups: Int32(Self.groups), x: x, x_stride: Self.xWidth, x_width: Int32(Self.xWidth), wx: wx,
                h: h, h_stride: g, h_width: Int32(g), wh: wh, bias_x: biasX, bias_hn: biasHN, reset_after: 0,
                h_out: hOut, h_out_stride: g, scratch: scratch, z_in: nil, z_in_stride: 0,
                gates_out: gates, gates_stride: 4 * g, gates_hidden: Int32(g), hn_in: nil, hn_in_stride: 0)
        }
    }

    typealias Violation = KernelViolation<rnnk_gru_step_args, Arena>

    static let u = Arena.units, r = Arena.rows
    /// The rules on the fields both steps share (KernelArena.swift), then this kernel's own.
    static let violations: [Violation] = Violation.sharedStepRules(columns: 24, units: u, rows: r) + [
        Violation(name: "bias_x and z_in both NULL", status: RNNK_NULL_POINTER) { a, _ in a.bias_x = nil },
        Violation(name: "scratch NULL, reset before, h given", status: RNNK_NULL_POINTER) { a, _ in a.scratch = nil },

        Violation(name: "an output at the top of the address space", status: RNNK_INVALID_SIZE) { a, _ in
            a.gates_out = UnsafeMutablePointer(bitPattern: UInt.max - 63)
        },
        Violation(name: "scratch at the top of the address space", status: RNNK_INVALID_SIZE) { a, _ in
            a.scratch = UnsafeMutablePointer(bitPattern: UInt.max - 63)
        },

        Violation(name: "h_out is gates_out", status: RNNK_OVERLAP) { a, _ in a.h_out = a.gates_out },
        Violation(name: "scratch overlaps h_out", status: RNNK_OVERLAP) { a, arena in a.scratch = arena.hOut - 3 * u * r + 1 },
        Violation(name: "scratch overlaps h", status: RNNK_OVERLAP) { a, arena in a.scratch = arena.h + 8 },
        Violation(name: "gates_out overlaps scratch", status: RNNK_OVERLAP) { a, arena in a.gates_out = arena.scratch + 3 * u * r - 1 },
        Violation(name: "gates_out overlaps wh", status: RNNK_OVERLAP) { a, arena in a.gates_out = arena.wh + 3 * u * u - 1 },
        Violation(name: "h_out overlaps bias_x", status: RNNK_OVERLAP) { a, arena in a.h_out = arena.biasX - u * r + 1 },
        Violation(name: "h_out overlaps bias_hn (reset after)", status: RNNK_OVERLAP) { a, arena in
            a.reset_after = 1; a.h_out = arena.biasHN + u - 1
        },
        Violation(name: "rows interleaved in one buffer (compared first to last float)", status: RNNK_OVERLAP) { a, arena in
            // h_out's rows in the gaps of gates_out's: no float is shared, but the spans overlap.
            a.gates_stride = 5 * u; a.h_out = arena.gates + 4 * u; a.h_out_stride = 5 * u
        },
    ]

    @Test(arguments: violations)
    func aBrokenPreconditionReturnsItsStatusAndWritesNothing(_ violation: Violation) {
        let arena = Arena()
        var args = arena.valid()
        violation.apply(&args, arena)
        #expect(rnnk_gru_step_check(&args) == violation.status)
        for isa in Self.variants {
            let before = arena.snapshot()
            #expect(rnnk_gru_step(isa, &args) == violation.status, "isa \(isa.rawValue)")
            #expect(arena.snapshot() == before, "isa \(isa.rawValue) wrote memory")
        }
    }

    @Test func noArgumentsIsANullPointerButAnUnavailableVariantComesFirst() {
        #expect(rnnk_gru_step_check(nil) == RNNK_NULL_POINTER)
        #expect(rnnk_gru_step(RNNK_ISA_NONE, nil) == RNNK_NULL_POINTER)   // the portable variant is always there
        #expect(rnnk_gru_step(rnnk_isa(rawValue: 7), nil) == RNNK_UNAVAILABLE)
        if rnnk_detect_isa() != RNNK_ISA_AVX512 { #expect(rnnk_gru_step(RNNK_ISA_AVX512, nil) == RNNK_UNAVAILABLE) }
        if rnnk_detect_isa() == RNNK_ISA_NONE { #expect(rnnk_gru_step(RNNK_ISA_AVX2, nil) == RNNK_UNAVAILABLE) }
    }

    /// The valid neighbours of the rules: each computes (status 0, every output written).
    static let validCases: [Violation] = [
        Violation(name: "every argument given (two phases)", status: RNNK_OK) { _, _ in },
        Violation(name: "reset after: no scratch needed", status: RNNK_OK) { a, _ in a.reset_after = 1; a.scratch = nil },
        Violation(name: "reset after, bias_hn NULL", status: RNNK_OK) { a, _ in a.reset_after = 1; a.bias_hn = nil },
        Violation(name: "first step: h NULL, h_width 0, wh NULL, no scratch", status: RNNK_OK) { a, _ in
            a.h = nil; a.h_width = 0; a.wh = nil; a.h_stride = 0; a.scratch = nil
        },
        Violation(name: "h given with h_width 0 is not read (and needs no scratch)", status: RNNK_OK) { a, _ in
            a.h_width = 0; a.wh = nil; a.scratch = nil
        },
        Violation(name: "z_in instead of bias_x, no x", status: RNNK_OK) { a, arena in
            a.z_in = UnsafePointer(arena.zIn); a.z_in_stride = 3 * u; a.bias_x = nil
            a.x = nil; a.wx = nil; a.x_width = 0; a.x_stride = 0
        },
        Violation(name: "no gates_out, zero strides for it", status: RNNK_OK) { a, _ in
            a.gates_out = nil; a.gates_stride = 0; a.gates_hidden = 0
        },
        Violation(name: "h_out right after h (touching, not overlapping)", status: RNNK_OK) { a, arena in a.h_out = arena.h + r * u },
        Violation(name: "scratch ending where h_out starts", status: RNNK_OK) { a, arena in a.scratch = arena.hOut - 3 * u * r },
        Violation(name: "bias_hn not read (reset before) may overlap an output", status: RNNK_OK) { a, arena in
            a.bias_hn = UnsafePointer(arena.hOut)
        },
        Violation(name: "scratch not used (reset after) may overlap anything", status: RNNK_OK) { a, arena in
            a.reset_after = 1; a.scratch = arena.hOut
        },
        Violation(name: "wider strides than the rows", status: RNNK_OK) { a, arena in
            a.h_out = arena.gates; a.h_out_stride = 4 * u + 3
            a.gates_out = nil; a.gates_hidden = 0
        },
    ]

    @Test(arguments: validCases)
    func validCallsStillCompute(_ valid: Violation) {
        for isa in Self.variants {
            let arena = Arena()
            var args = arena.valid()
            valid.apply(&args, arena)
            #expect(rnnk_gru_step_check(&args) == RNNK_OK)
            #expect(rnnk_gru_step(isa, &args) == RNNK_OK, "isa \(isa.rawValue)")
            #expect(arena.outputsWritten(args), "isa \(isa.rawValue)")
        }
    }

    @Test func zeroRowsComputeNothingAndWriteNothing() {
        for isa in Self.variants {
            let arena = Arena()
            var args = arena.valid()
            args.rows = 0
            let before = arena.snapshot()
            #expect(rnnk_gru_step(isa, &args) == RNNK_OK)
            #expect(arena.snapshot() == before)
        }
    }

    @Test func thePackedIndexIsOnePanelPerGroup() {
        // groups 3, width 5: group q's panel starts at 24 * 5 * q; row k of it at + 24 k.
        #expect(rnnk_gru_packed_index(3, 5, 0, 0) == 0)
        #expect(rnnk_gru_packed_index(3, 5, 0, 23) == 23)
        #expect(rnnk_gru_packed_index(3, 5, 1, 0) == 24)
        #expect(rnnk_gru_packed_index(3, 5, 0, 24) == 120)
        #expect(rnnk_gru_packed_index(3, 5, 4, 71) == 240 + 96 + 23)
        let all = (0..<5).flatMap { k in (0..<72).map { rnnk_gru_packed_index(3, 5, Int32(k), Int32($0)) } }
        #expect(all.sorted() == Array(0..<360))
    }
}
