/// A confusion-matrix heat map with the count printed in every non-empty cell.
///
/// The diagonal (correct predictions) is shaded blue by recall; off-diagonal cells are shaded red
/// by their share of the row, on a scale that saturates at the largest error cell, so that the
/// few frequent mistakes stand out even when every error is rare.
package struct ConfusionMatrixChart: Sendable {
    package var title: String
    package var matrix: ConfusionMatrix
    package var classNames: [String]

    package init(title: String = "Confusion matrix (rows: true class, columns: predicted)", matrix: ConfusionMatrix,
                classNames: [String]) {
        self.title = title
        self.matrix = matrix
        self.classNames = classNames
    }

    /// The standalone SVG document.
    package func svg() -> String { canvas().document() }

    func canvas() -> SVGCanvas {
        let k = matrix.classCount
        let names = (0..<k).map { className($0, classNames) }
        let longest = Double(names.map(\.count).max() ?? 1)
        let cell = max(34.0, min(48.0, 480.0 / Double(max(k, 1))))
        let labelSpace = max(24.0, longest * 6.6 + 10)
        let left = labelSpace + 22, top = 40 + labelSpace
        let width = left + cell * Double(k) + 16
        let height = top + cell * Double(k) + 16
        var canvas = SVGCanvas(width: width, height: height, title: title)
        canvas.text(title, x: 8, y: 18, size: 14, weight: "600")
        canvas.text("predicted", x: left + cell * Double(k) / 2, y: 34, size: 11, anchor: .middle, fill: Palette.muted)
        canvas.text("true", x: 12, y: top + cell * Double(k) / 2, size: 11, anchor: .middle, fill: Palette.muted, rotate: -90)

        let rowShare: (Int, Int) -> Double = { t, p in
            let support = matrix.support(of: t)
            return support == 0 ? 0 : Double(matrix[t, p]) / Double(support)
        }
        var largestError = 0.0
        for t in 0..<k { for p in 0..<k where p != t { largestError = max(largestError, rowShare(t, p)) } }

        for c in 0..<k {
            let cx = left + (Double(c) + 0.5) * cell
            canvas.text(names[c], x: cx, y: top - 6, size: 11, anchor: names[c].count > 3 ? .start : .middle,
                        rotate: names[c].count > 3 ? -45 : nil)
            canvas.text(names[c], x: left - 6, y: top + (Double(c) + 0.5) * cell + 4, size: 11, anchor: .end)
        }
        for t in 0..<k {
            for p in 0..<k {
                let count = matrix[t, p]
                let share = rowShare(t, p)
                let fill: String
                let dark: Bool
                if t == p {
                    fill = Palette.heat(share)
                    dark = share > 0.55
                } else if count == 0 {
                    fill = "#ffffff"
                    dark = false
                } else {
                    let t0 = largestError > 0 ? share / largestError : 0
                    fill = Palette.errorHeat(0.15 + 0.85 * t0)
                    dark = t0 > 0.55
                }
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                canvas.rect(x: x, y: y, width: cell - 1, height: cell - 1, fill: fill, stroke: Palette.grid,
                            tooltip: "true \(names[t]), predicted \(names[p]): \(count) (\(Format.percent(share, 1)) of \(names[t]))")
                if count > 0 {
                    canvas.text(String(count), x: x + cell / 2, y: y + cell / 2 + 4, size: count >= 1000 ? 10 : 11,
                                anchor: .middle, fill: dark ? "#ffffff" : Palette.ink)
                }
            }
        }
        return canvas
    }
}
