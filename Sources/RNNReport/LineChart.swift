/// A point of a ``LineChart`` series.
package struct ChartPoint: Sendable, Equatable {
    package var x: Double
    package var y: Double
}

/// A line chart with axes, ticks, grid lines and a legend: learning curves (loss or accuracy per
/// epoch, training against validation) and accuracy-per-epoch comparisons.
package struct LineChart: Sendable {
    /// One line.
    package struct Series: Sendable {
        package var name: String
        package var points: [ChartPoint]
        /// Index into the figure palette; series with the same colour and different dash read as a pair.
        package var colorIndex: Int
        package var dashed: Bool = false
    }

    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var series: [Series]
    /// A fixed y range; `nil` fits the data with round ends.
    package var yRange: ClosedRange<Double>?
    /// Formats y tick labels as percentages (values are fractions in 0...1).
    package var percentAxis: Bool
    /// Forces whole-number x ticks (epochs).
    package var integerX: Bool
    package var width: Double
    package var height: Double

    package init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil,
                percentAxis: Bool = false, integerX: Bool = true, width: Double = 520, height: Double = 320) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yRange = yRange
        self.percentAxis = percentAxis
        self.integerX = integerX
        self.width = max(200, width)
        self.height = max(160, height)
    }

    /// The standalone SVG document.
    package func svg() -> String { canvas().document() }

    func canvas() -> SVGCanvas {
        var canvas = SVGCanvas(width: width, height: height, title: title)
        let legendRows = (series.count + 1) / 2
        let plotLeft = 62.0, plotRight = width - 16
        let plotTop = 34.0, plotBottom = height - 46 - Double(legendRows) * 16
        canvas.text(title, x: 8, y: 18, size: 14, weight: "600")

        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        guard !points.isEmpty, plotBottom - plotTop > 20 else {
            canvas.text("(no data)", x: width / 2, y: height / 2, size: 13, anchor: .middle, fill: Palette.muted)
            return canvas
        }
        let xs = points.map(\.x), ys = points.map(\.y)
        var xDomain = xs.min()!...xs.max()!
        if xDomain.upperBound == xDomain.lowerBound { xDomain = (xDomain.lowerBound - 1)...(xDomain.upperBound + 1) }
        let yDomain = yRange ?? LinearScale.niceDomain(ys)
        let x = LinearScale(domain: xDomain, range: plotLeft...plotRight)
        let y = LinearScale(domain: yDomain, range: plotTop...plotBottom, inverted: true)

        // Grid and y ticks.
        let (yTicks, yStep) = y.ticks(count: 5)
        for value in yTicks {
            let py = y(value)
            canvas.line(x1: plotLeft, y1: py, x2: plotRight, y2: py, stroke: Palette.grid)
            let label = percentAxis ? Format.tick(value * 100, step: yStep * 100) + "%" : Format.tick(value, step: yStep)
            canvas.text(label, x: plotLeft - 6, y: py + 4, size: 11, anchor: .end, fill: Palette.muted)
        }
        // X ticks: whole numbers for epochs.
        var (xTicks, xStep) = x.ticks(count: 6)
        if integerX {
            xStep = max(1, xStep.rounded(.up))
            xTicks = stride(from: xDomain.lowerBound.rounded(.up), through: xDomain.upperBound, by: xStep).map { $0 }
        }
        for value in xTicks {
            let px = x(value)
            canvas.line(x1: px, y1: plotBottom, x2: px, y2: plotBottom + 4, stroke: Palette.axis)
            canvas.text(Format.tick(value, step: xStep), x: px, y: plotBottom + 17, size: 11, anchor: .middle, fill: Palette.muted)
        }
        canvas.line(x1: plotLeft, y1: plotBottom, x2: plotRight, y2: plotBottom, stroke: Palette.axis)
        canvas.line(x1: plotLeft, y1: plotTop, x2: plotLeft, y2: plotBottom, stroke: Palette.axis)
        canvas.text(xLabel, x: (plotLeft + plotRight) / 2, y: plotBottom + 33, size: 12, anchor: .middle)
        canvas.text(yLabel, x: 14, y: (plotTop + plotBottom) / 2, size: 12, anchor: .middle, rotate: -90)

        for item in series {
            let color = Palette.series(item.colorIndex)
            let visible = item.points.filter { $0.x.isFinite && $0.y.isFinite }
            let mapped = visible.map { (x($0.x), y(min(max($0.y, yDomain.lowerBound), yDomain.upperBound))) }
            if mapped.count > 1 {
                canvas.polyline(mapped, stroke: color, width: 2.2, dash: item.dashed ? "6 4" : nil)
            }
            for (point, source) in zip(mapped, visible) {
                let value = percentAxis ? Format.percent(source.y) : Format.fixed(source.y, 4)
                canvas.circle(x: point.0, y: point.1, radius: 3, fill: color,
                              tooltip: "\(item.name), \(xLabel.lowercased()) \(Format.tick(source.x, step: xStep)): \(value)")
            }
        }

        // Legend in two columns under the x label.
        for (index, item) in series.enumerated() {
            let lx = plotLeft + Double(index % 2) * (plotRight - plotLeft) / 2
            let ly = plotBottom + 48 + Double(index / 2) * 16
            canvas.line(x1: lx, y1: ly - 4, x2: lx + 22, y2: ly - 4, stroke: Palette.series(item.colorIndex), width: 2.5,
                        dash: item.dashed ? "6 4" : nil)
            canvas.text(item.name, x: lx + 28, y: ly, size: 11)
        }
        return canvas
    }
}
