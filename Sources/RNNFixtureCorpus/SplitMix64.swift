/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fixed, seedable generator, so that the fixture
/// files are identical on every machine and every Swift version (no system randomness).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in [-amplitude, amplitude) on a grid of 2^-24 steps: exact in binary32.
    mutating func weight(amplitude: Float = 0.5) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)  // [0, 1), 24 significant bits
        return (unit * 2 - 1) * amplitude
    }

    mutating func weights(_ count: Int, amplitude: Float = 0.5) -> [Float] {
        (0..<count).map { _ in weight(amplitude: amplitude) }
    }
}
