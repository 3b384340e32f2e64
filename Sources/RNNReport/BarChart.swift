import Foundation

/// A horizontal bar chart: model sizes per dtype, images per second per batch size, and the
/// RNN-versus-CNN comparisons. Each bar carries its value as text, so the chart doubles as a table.
package struct BarChart: Sendable {
    /// One bar.
    package struct Bar: Sendable {
        package var label: String
        package var value: Double
        /// Printed at the end of the bar; defaults to a compact form of `value`.
        package var valueText: String?
        package var colorIndex: Int = 0
    }

    package var title: String
    /// Axis caption, e.g. "images per second (higher is better)".
    package var unit: String
    package var bars: [Bar]
    /// A logarithmic axis, for values that span orders of magnitude (throughput at batch 1 vs 10,000).
    package var logarithmic: Bool
    package var width: Double

    package init(title: String, unit: String, bars: [Bar], logarithmic: Bool = false, width: Double = 520) {
        self.title = title
        self.unit = unit
        self.bars = bars
        self.logarithmic = logarithmic
        self.width = max(240, width)
    }

    /// The standalone SVG document.
    package func svg() -> String { canvas().document() }

    func canvas() -> SVGCanvas {
        let barHeight = 20.0, gap = 8.0
        let labelWidth = min(width * 0.45, max(60, Double(bars.map(\.label.count).max() ?? 4) * 6.6 + 12))
        let top = 34.0
        let height = top + Double(max(bars.count, 1)) * (barHeight + gap) + 34
        var canvas = SVGCanvas(width: width, height: height, title: title)
        canvas.text(title, x: 8, y: 18, size: 14, weight: "600")
        let values = bars.map(\.value).filter { $0.isFinite && (!logarithmic || $0 > 0) }
        guard let maxValue = values.max(), maxValue > 0 else {
            canvas.text("(no data)", x: width / 2, y: top + 20, size: 13, anchor: .middle, fill: Palette.muted)
            return canvas
        }
        let left = labelWidth + 8
        // Leave room after the longest bar for its value text (about 0.6 em per character at 11 px).
        let longestValue = bars.map { ($0.valueText ?? Format.compact($0.value)).count }.max() ?? 6
        let right = max(left + 60, width - max(40, Double(longestValue) * 6.6 + 12))
        let position: (Double) -> Double
        if logarithmic {
            let low = floor(log10(values.min()!)) , high = ceil(log10(maxValue))
            let scale = LinearScale(domain: low...max(high, low + 1), range: left...right)
            position = { value in value > 0 ? scale(log10(value)) : left }
            var decade = low
            while decade <= max(high, low + 1) {
                let px = scale(decade)
                canvas.line(x1: px, y1: top - 4, x2: px, y2: height - 30, stroke: Palette.grid)
                canvas.text(Format.compact(pow(10, decade)), x: px, y: height - 18, size: 10, anchor: .middle, fill: Palette.muted)
                decade += 1
            }
        } else {
            let scale = LinearScale(domain: 0...maxValue, range: left...right)
            position = { scale(max(0, $0)) }
            let (ticks, _) = LinearScale(domain: 0...maxValue, range: left...right).ticks(count: 4)
            for value in ticks {
                let px = scale(value)
                canvas.line(x1: px, y1: top - 4, x2: px, y2: height - 30, stroke: Palette.grid)
                canvas.text(Format.compact(value), x: px, y: height - 18, size: 10, anchor: .middle, fill: Palette.muted)
            }
        }
        for (index, bar) in bars.enumerated() {
            let y = top + Double(index) * (barHeight + gap)
            canvas.text(bar.label, x: left - 8, y: y + barHeight * 0.7, size: 12, anchor: .end)
            let end = bar.value.isFinite ? position(bar.value) : left
            let text = bar.valueText ?? Format.compact(bar.value)
            canvas.rect(x: left, y: y, width: end - left, height: barHeight, fill: Palette.series(bar.colorIndex), radius: 2,
                        tooltip: "\(bar.label): \(text)")
            canvas.text(text, x: end + 5, y: y + barHeight * 0.7, size: 11, fill: Palette.ink)
        }
        canvas.line(x1: left, y1: top - 4, x2: left, y2: height - 30, stroke: Palette.axis)
        canvas.text(unit, x: (left + right) / 2, y: height - 4, size: 11, anchor: .middle, fill: Palette.muted)
        return canvas
    }
}
