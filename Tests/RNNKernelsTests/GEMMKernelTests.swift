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

    @Test func unsupportedShapesAndVariantsAreRefusedNotComputed() {
        var c = [Float](repeating: 7, count: 20)
        let a = [Float](repeating: 1, count: 20), b = [Float](repeating: 1, count: 20)
        let refused = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            [rnnk_sgemm(RNNK_ISA_AVX512, 1, 20, 1, ap.baseAddress, 1, 1, bp.baseAddress, 20, cp.baseAddress, 20, 0),  // n % 16 != 0
             rnnk_sgemm(RNNK_ISA_AVX2, 1, 16, 1, ap.baseAddress, 1, 1, bp.baseAddress, 16, cp.baseAddress, 16, 0),  // AVX-512 only
             rnnk_sgemm(RNNK_ISA_NONE, 1, 16, 1, ap.baseAddress, 1, 1, bp.baseAddress, 16, cp.baseAddress, 16, 0)]
        } } }
        #expect(refused == [-1, -1, -1])
        #expect(c.allSatisfy { $0 == 7 })
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
