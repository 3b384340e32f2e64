import RNNKernels
import Testing

/// `rnnk_sgemm` (the training's backward products) against a plain float64 triple loop, over the
/// shapes where a blocked kernel can go wrong: row counts that leave every tile remainder (1-5 of
/// 6), column counts that leave 1-3 vectors of a 64-column panel, depths of 0, 1 and more than one
/// 256-deep block, a transposed A (other strides), and `accumulate`.
struct GEMMKernelTests {
    /// Deterministic values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000
        }
    }

    static let available = rnnk_detect_isa() == RNNK_ISA_AVX512

    @Test(.enabled(if: available, "rnnk_sgemm needs AVX-512 (this CPU would use BLAS)"),
          arguments: [(1, 16, 1), (5, 48, 7), (6, 64, 256), (7, 80, 257), (13, 128, 300), (12, 32, 0), (29, 512, 40)])
    func productMatchesAFloat64Loop(m: Int, n: Int, k: Int) {
        for transposed in [false, true] {
            for accumulate in [false, true] {
                let a = Self.values(max(m * k, 1), seed: UInt64(m * 1000 + k))
                let b = Self.values(max(k * n, 1), seed: UInt64(n * 7 + k))
                let start = Self.values(m * n, seed: 99)
                // A(i, k) at a[i * aRow + k * aColumn]: row-major [m, k], or its transpose stored [k, m].
                let (aRow, aColumn) = transposed ? (1, m) : (k, 1)
                var c = start
                let status = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        rnnk_sgemm(RNNK_ISA_AVX512, Int32(m), Int32(n), Int32(k), ap.baseAddress, aRow, aColumn,
                                   bp.baseAddress, n, cp.baseAddress, n, accumulate ? 1 : 0)
                    } } }
                #expect(status == 0)
                // The classic bound for a recursively summed dot product in binary32 (u = 2^-24):
                // |computed - exact| <= (k + 1) u / (1 - (k + 1) u) * (|c| + sum |a b|). A missing,
                // doubled or misplaced term (about 0.25 on average here) exceeds it by far.
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = accumulate ? Double(start[i * n + j]) : 0
                        var magnitude = abs(sum)
                        for p in 0..<k {
                            let term = Double(a[i * aRow + p * aColumn]) * Double(b[p * n + j])
                            sum += term
                            magnitude += abs(term)
                        }
                        let gamma = Double(k + 1) * 0x1p-24 / (1 - Double(k + 1) * 0x1p-24)
                        worst = max(worst, abs(Double(c[i * n + j]) - sum) / max(gamma * magnitude, .leastNormalMagnitude))
                    }
                }
                #expect(worst <= 1, "m \(m) n \(n) k \(k) transposed \(transposed) accumulate \(accumulate): \(worst) x the bound")
            }
        }
    }

    @Test func unsupportedVariantsAreRefusedNotComputed() {
        var c = [Float](repeating: 7, count: 20)
        let a = [Float](repeating: 1, count: 20), b = [Float](repeating: 1, count: 20)
        let refused = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            [rnnk_sgemm(RNNK_ISA_AVX2, 1, 16, 1, ap.baseAddress, 1, 1, bp.baseAddress, 16, cp.baseAddress, 16, 0),  // AVX-512 only
             rnnk_sgemm(RNNK_ISA_NONE, 1, 16, 1, ap.baseAddress, 1, 1, bp.baseAddress, 16, cp.baseAddress, 16, 0)]
        } } }
        #expect(refused == [RNNK_UNAVAILABLE, RNNK_UNAVAILABLE])
        #expect(c.allSatisfy { $0 == 7 })
    }

    /// One broken precondition of `rnnk_sgemm` (rnn_kernels.h): the arguments of a valid 3 x 32 x 4
    /// product with one of them changed, and the status it must give.
    struct Call: CustomTestStringConvertible, Sendable {
        var name: String
        var status: Int32
        var m: Int32 = 3, n: Int32 = 32, k: Int32 = 4
        /// Offsets (in floats) into one arena; nil for NULL. A at 0 ([3, 4]), B at 64 ([4, 32]), C at 256 ([3, 32]).
        var a: Int? = 0, aRow = 4, aColumn = 1
        var b: Int? = 64, ldb = 32
        var c: Int? = 256, ldc = 32
        var testDescription: String { name }

        static let arenaCount = 512
        static let sentinel = Float(bitPattern: 0x7FC0_BEEF)

        /// Runs the check alone and, where the CPU has AVX-512, the product; returns both statuses and
        /// whether the arena changed.
        func run() -> (check: Int32, product: Int32?, wrote: Bool) {
            let arena = UnsafeMutablePointer<Float>.allocate(capacity: Self.arenaCount)
            defer { arena.deallocate() }
            for i in 0..<Self.arenaCount { arena[i] = i < 256 ? Float(i % 13) / 13 : Self.sentinel }
            let before = (0..<Self.arenaCount).map { arena[$0].bitPattern }
            let (pa, pb, pc) = (a.map { UnsafePointer(arena + $0) }, b.map { UnsafePointer(arena + $0) }, c.map { arena + $0 })
            let check = rnnk_sgemm_check(m, n, k, pa, aRow, aColumn, pb, ldb, pc, ldc)
            var product: Int32? = nil
            if rnnk_detect_isa() == RNNK_ISA_AVX512 {
                product = rnnk_sgemm(RNNK_ISA_AVX512, m, n, k, pa, aRow, aColumn, pb, ldb, pc, ldc, 1)
            }
            return (check, product, (0..<Self.arenaCount).map { arena[$0].bitPattern } != before)
        }
    }

    static let brokenCalls: [Call] = [
        Call(name: "m < 0", status: RNNK_INVALID_SIZE, m: -1),
        Call(name: "n < 0", status: RNNK_INVALID_SIZE, n: -16),
        Call(name: "k < 0", status: RNNK_INVALID_SIZE, k: -1),
        Call(name: "c NULL", status: RNNK_NULL_POINTER, c: nil),
        Call(name: "a NULL", status: RNNK_NULL_POINTER, a: nil),
        Call(name: "b NULL", status: RNNK_NULL_POINTER, b: nil),
        Call(name: "n % 16 != 0", status: RNNK_BAD_LAYOUT, n: 20, ldb: 20, ldc: 20),
        Call(name: "ldc < n", status: RNNK_BAD_LAYOUT, ldc: 31),
        Call(name: "ldb < n", status: RNNK_BAD_LAYOUT, ldb: 16),
        Call(name: "a_row < 0", status: RNNK_BAD_LAYOUT, aRow: -4),
        Call(name: "a_col < 0", status: RNNK_BAD_LAYOUT, aColumn: -1),
        Call(name: "C's region overflows", status: RNNK_INVALID_SIZE, ldc: Int.max / 2),
        Call(name: "A's region overflows", status: RNNK_INVALID_SIZE, aColumn: Int.max / 2),
        Call(name: "B's region overflows", status: RNNK_INVALID_SIZE, ldb: Int.max / 3),
        Call(name: "C overlaps B", status: RNNK_OVERLAP, c: 64 + 3 * 32),
        Call(name: "C overlaps A", status: RNNK_OVERLAP, a: 300),  // A [300, 312) inside C [256, 352)
        Call(name: "C is B", status: RNNK_OVERLAP, c: 64),
    ]

    @Test(arguments: brokenCalls)
    func aBrokenPreconditionReturnsItsStatusAndWritesNothing(_ call: Call) {
        let (check, product, wrote) = call.run()
        #expect(check == call.status)
        if let product { #expect(product == call.status) }
        #expect(!wrote)
    }

    static let validCalls: [Call] = [
        Call(name: "the valid product", status: RNNK_OK),
        Call(name: "C right after B (touching)", status: RNNK_OK, c: 64 + 4 * 32),
        Call(name: "m 0 with NULL pointers", status: RNNK_OK, m: 0, a: nil, b: nil, c: nil),
        Call(name: "k 0 with NULL A and B", status: RNNK_OK, k: 0, a: nil, b: nil),
        Call(name: "transposed A", status: RNNK_OK, aRow: 1, aColumn: 3),
    ]

    @Test(arguments: validCalls)
    func validCallsPassTheChecks(_ call: Call) {
        let (check, product, _) = call.run()
        #expect(check == RNNK_OK)
        if let product { #expect(product == RNNK_OK) }
    }

    @Test func packedIndexPlacesPairsOfGroupsInContiguousPanels() {
        // 3 groups (96 columns), width 2: panel 0 holds groups 0-1 (64 wide), panel 1 group 2 (32 wide).
        #expect(rnnk_packed_index(3, 2, 0, 0) == 0)
        #expect(rnnk_packed_index(3, 2, 0, 63) == 63)
        #expect(rnnk_packed_index(3, 2, 1, 0) == 64)
        #expect(rnnk_packed_index(3, 2, 1, 40) == 104)
        #expect(rnnk_packed_index(3, 2, 0, 64) == 128)
        #expect(rnnk_packed_index(3, 2, 1, 95) == 128 + 32 + 31)
        // Every (k, column) gets its own slot.
        let slots = (0..<2).flatMap { k in (0..<96).map { rnnk_packed_index(3, 2, Int32(k), Int32($0)) } }
        #expect(Set(slots).count == 192 && slots.min() == 0 && slots.max() == 191)
    }
}
