import RNNCore
import RNNTraining

/// One golden input image and what it is meant to exercise.
struct GoldenImage {
    /// 784 bytes, row-major.
    var pixels: [UInt8]
    /// A short description for the manifest ("zeros", "digit 7", ...).
    var kind: String
}

/// The golden input batches (spec/GOLDEN.md, "Inputs"): deterministic, seeded, synthesized.
enum GoldenInputs {
    static let pixelsPerImage = DigitPainter.side * DigitPainter.side

    /// 37 images: a batch size that is not a multiple of any power-of-two block size, so that an
    /// implementation's last, partial block is exercised. Images 0 ... 6 are edge cases, the rest
    /// are digits 0 ... 9 in turn, each in a random handwriting style.
    static func batch37() -> [GoldenImage] {
        var rng = Xoshiro256StarStar(seed: 0x601D_0037)
        let n = pixelsPerImage
        var images: [GoldenImage] = [
            GoldenImage(pixels: [UInt8](repeating: 0, count: n), kind: "zeros"),
            GoldenImage(pixels: [UInt8](repeating: 255, count: n), kind: "all 255"),
            GoldenImage(pixels: (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }, kind: "uniform noise"),
            GoldenImage(pixels: (0..<n).map { _ in rng.nextInt(below: 20) == 0 ? 255 : 0 }, kind: "salt noise (5%)"),
            GoldenImage(pixels: (0..<n).map { ($0 / DigitPainter.side + $0 % DigitPainter.side) % 2 == 0 ? 255 : 0 },
                        kind: "checkerboard"),
        ]
        let inverted = DigitPainter.draw(8, style: .random(&rng)).map { 255 - $0 }
        images.append(GoldenImage(pixels: inverted, kind: "inverted digit 8"))
        var faint = DigitPainter.Style.random(&rng)
        faint.ink = 0.3
        images.append(GoldenImage(pixels: DigitPainter.draw(4, style: faint), kind: "faint digit 4"))
        for index in 0..<30 {
            let digit = index % 10
            images.append(GoldenImage(pixels: DigitPainter.draw(digit, style: .random(&rng)), kind: "digit \(digit)"))
        }
        return images
    }

    /// A batch of one image: a digit 7 with a style of its own.
    static func batch1() -> [GoldenImage] {
        var rng = Xoshiro256StarStar(seed: 0x601D_0001)
        return [GoldenImage(pixels: DigitPainter.draw(7, style: .random(&rng)), kind: "digit 7")]
    }
}
