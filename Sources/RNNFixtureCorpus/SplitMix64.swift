import RNNCore

/// The fixtures' weights come from RNNCore's ``SplitMix64``: a tiny, fixed, seedable generator, so
/// that the fixture files are identical on every machine and every Swift version (no system randomness).
extension SplitMix64 {
    /// A value in [-amplitude, amplitude) on a grid of 2^-24 steps: exact in binary32.
    mutating func weight(amplitude: Float = 0.5) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)  // [0, 1), 24 significant bits
        return (unit * 2 - 1) * amplitude
    }

    mutating func weights(_ count: Int, amplitude: Float = 0.5) -> [Float] {
        (0..<count).map { _ in weight(amplitude: amplitude) }
    }
}
