import RNNCore
import RNNTraining

/// Digit-like 28x28 u8 images drawn from hand-made stroke templates: the golden inputs and the
/// tiny model's training data. No data set is copied: every pixel comes from the code below.
///
/// Everything here is integer arithmetic, `+ - * /` and `sqrt` on Double (all correctly rounded
/// in IEEE 754), and a fixed table of cosines, so that the same seed draws the same bytes on
/// every platform; libm's `sin`/`cos` are not guaranteed to agree to the last bit between libms.
struct DigitPainter {
    /// Image side in pixels (MNIST's).
    static let side = 28
    /// The template box is `boxSide x boxSide` pixels, centred, as MNIST centres its 20x20 digits.
    static let boxSide = 20.0

    /// A point in template coordinates: `[0, 1]^2`, x to the right, y down.
    struct Point {
        var x: Double
        var y: Double
    }

    /// `cos(k * 22.5 degrees)` for k = 0 ... 15, spelled out (see the type's comment).
    static let cosines: [Double] = [
        1, 0.9238795325112867, 0.7071067811865476, 0.3826834323650898,
        0, -0.3826834323650898, -0.7071067811865476, -0.9238795325112867,
        -1, -0.9238795325112867, -0.7071067811865476, -0.3826834323650898,
        0, 0.3826834323650898, 0.7071067811865476, 0.9238795325112867,
    ]

    /// Points of an elliptic arc from direction `from` to direction `to` (in 22.5-degree steps,
    /// y down, so direction 4 is the bottom and 12 the top), both ends included.
    static func arc(_ cx: Double, _ cy: Double, _ rx: Double, _ ry: Double, from: Int, to: Int) -> [Point] {
        let step = to >= from ? 1 : -1
        return stride(from: from, through: to, by: step).map { k in
            let i = ((k % 16) + 16) % 16
            return Point(x: cx + rx * cosines[i], y: cy + ry * cosines[(i + 12) % 16])
        }
    }

    /// A closed ellipse.
    static func ellipse(_ cx: Double, _ cy: Double, _ rx: Double, _ ry: Double) -> [Point] {
        arc(cx, cy, rx, ry, from: 0, to: 16)
    }

    static func line(_ points: (Double, Double)...) -> [Point] {
        points.map { Point(x: $0.0, y: $0.1) }
    }

    /// The polylines of each digit 0 ... 9.
    static let templates: [[[Point]]] = [
        [ellipse(0.5, 0.5, 0.32, 0.45)],
        [line((0.5, 0.05), (0.5, 0.95)), line((0.33, 0.22), (0.5, 0.05))],
        [arc(0.5, 0.3, 0.3, 0.25, from: 8, to: 18) + line((0.2, 0.95), (0.85, 0.95))],
        [arc(0.5, 0.28, 0.28, 0.22, from: 9, to: 20), arc(0.5, 0.72, 0.3, 0.23, from: 12, to: 23)],
        [line((0.7, 0.95), (0.7, 0.05), (0.15, 0.65), (0.85, 0.65))],
        [line((0.8, 0.05), (0.3, 0.05), (0.27, 0.45)) + arc(0.48, 0.68, 0.3, 0.27, from: 11, to: 23)],
        [line((0.72, 0.05), (0.4, 0.35), (0.22, 0.68)), ellipse(0.5, 0.7, 0.28, 0.25)],
        [line((0.15, 0.05), (0.85, 0.05), (0.4, 0.95))],
        [ellipse(0.5, 0.27, 0.24, 0.22), ellipse(0.5, 0.72, 0.3, 0.24)],
        [ellipse(0.5, 0.3, 0.28, 0.25), line((0.78, 0.3), (0.7, 0.95))],
    ]

    /// How one drawing deviates from the template.
    struct Style {
        var scaleX = 1.0, scaleY = 1.0, shear = 0.0, shiftX = 0.0, shiftY = 0.0
        /// Half the stroke width, in pixels.
        var radius = 1.3
        /// Peak intensity in `(0, 1]`.
        var ink = 1.0

        /// A random handwriting-like style.
        static func random(_ rng: inout Xoshiro256StarStar) -> Style {
            Style(scaleX: rng.nextDouble(in: 0.75, 1.05), scaleY: rng.nextDouble(in: 0.8, 1.05),
                  shear: rng.nextDouble(in: -0.25, 0.25), shiftX: rng.nextDouble(in: -2.5, 2.5),
                  shiftY: rng.nextDouble(in: -2.5, 2.5), radius: rng.nextDouble(in: 0.8, 1.8), ink: 1)
        }
    }

    /// Draws `digit` in `style`: 784 bytes, row-major, 0 = background (as IDX/MNIST).
    static func draw(_ digit: Int, style s: Style) -> [UInt8] {
        let n = side
        // Distance from each pixel centre to the nearest stroke, only near the strokes.
        var distance = [Double](repeating: .infinity, count: n * n)
        func place(_ p: Point) -> Point {
            Point(x: Double(n) / 2 + s.shiftX + boxSide * (s.scaleX * (p.x - 0.5) + s.shear * (p.y - 0.5)),
                  y: Double(n) / 2 + s.shiftY + boxSide * s.scaleY * (p.y - 0.5))
        }
        for polyline in templates[digit] {
            let points = polyline.map(place)
            for (a, b) in zip(points, points.dropFirst()) {
                let reach = s.radius + 1
                let x0 = max(0, Int((min(a.x, b.x) - reach).rounded(.down)))
                let x1 = min(n - 1, Int((max(a.x, b.x) + reach).rounded(.up)))
                let y0 = max(0, Int((min(a.y, b.y) - reach).rounded(.down)))
                let y1 = min(n - 1, Int((max(a.y, b.y) + reach).rounded(.up)))
                guard x0 <= x1, y0 <= y1 else { continue }
                let dx = b.x - a.x, dy = b.y - a.y
                let length2 = dx * dx + dy * dy
                for y in y0...y1 {
                    for x in x0...x1 {
                        let px = Double(x) + 0.5 - a.x, py = Double(y) + 0.5 - a.y
                        let t = length2 > 0 ? min(1, max(0, (px * dx + py * dy) / length2)) : 0
                        let ex = px - t * dx, ey = py - t * dy
                        let d = (ex * ex + ey * ey).squareRoot()
                        if d < distance[y * n + x] { distance[y * n + x] = d }
                    }
                }
            }
        }
        // Anti-aliased pen: full ink inside the radius, a one-pixel linear ramp outside it.
        return distance.map { d in
            let coverage = min(1, max(0, s.radius + 0.5 - d))
            return UInt8((coverage * s.ink * 255).rounded())
        }
    }

    /// `count` random digits with their labels (label `k` is drawn `k` for the `k`-th image
    /// modulo 10 when `cycle` is true, else at random).
    static func dataset(count: Int, seed: UInt64, cycle: Bool = false) -> (pixels: [UInt8], labels: [Int]) {
        var rng = Xoshiro256StarStar(seed: seed)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(count * side * side)
        var labels: [Int] = []
        for index in 0..<count {
            let digit = cycle ? index % 10 : rng.nextInt(below: 10)
            pixels += draw(digit, style: .random(&rng))
            labels.append(digit)
        }
        return (pixels, labels)
    }
}
