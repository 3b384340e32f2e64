import RNNSupport

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny generator used only to expand one 64-bit seed
/// into the 256-bit state of ``Xoshiro256StarStar``, as its authors recommend.
package struct SplitMix64: Sendable {
    /// The generator's whole state.
    package var state: UInt64

    /// A generator that starts from `seed`.
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna 2018): the trainer's only source of randomness.
///
/// Everything random in training (initial weights, shuffling) comes from generators of this
/// type seeded from `--seed`, never from the system, so that a run can be repeated bit for bit.
package struct Xoshiro256StarStar: Sendable, Equatable {
    /// The four state words; never all zero.
    package var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose state is expanded from `seed` by ``SplitMix64``.
    package init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    /// Two generators are equal when their states are: they will produce the same sequence.
    package static func == (lhs: Xoshiro256StarStar, rhs: Xoshiro256StarStar) -> Bool {
        lhs.state == rhs.state
    }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A uniform double in `[0, 1)` built from the top 53 bits.
    package mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in `[low, high)`.
    package mutating func nextDouble(in low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnitDouble()
    }

    /// A standard normal sample (Box–Muller; the second value of each pair is discarded so
    /// that the generator's position never depends on hidden cached state).
    package mutating func nextNormal() -> Double {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - nextUnitDouble()
        let u2 = nextUnitDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection: unbiased).
    package mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold {
                product = next().multipliedFullWidth(by: b)
            }
        }
        return Int(product.high)
    }

    /// Fisher–Yates shuffle of `values` in place.
    package mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, nextInt(below: i + 1))
        }
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
