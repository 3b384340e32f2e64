/// A grayscale image stored as `height x width` `u8` pixels, row-major, 0 = background.
///
/// This is exactly how IDX files (and so MNIST and Fashion-MNIST) store an image.
package struct DigitImage: Sendable, Equatable {
    package let width: Int
    package let height: Int
    package let pixels: [UInt8]

    /// Creates an image; returns `nil` unless `pixels.count == width * height` and both are positive.
    package init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width > 0, height > 0, width <= 4096, height <= 4096, pixels.count == width * height else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A grid of small images, each under a title: the report's equivalent of the course notebook's
/// `draw_digits` (sample digits with their labels; misclassified digits titled "t:5 p:3").
///
/// Pixels are drawn as vector squares, one `<path>` per gray level, with no embedded raster
/// image, so the document is plain XML with no codec and no external asset. Gray levels are
/// quantized to ``grayLevels`` steps, which keeps a grid of a hundred digits to a few hundred KiB.
package struct DigitGrid: Sendable {
    /// One image with its title and an optional tooltip.
    package struct Cell: Sendable {
        package var image: DigitImage
        /// Shown above the image, e.g. "7" or "t:5 p:3 (0.91)".
        package var title: String
        /// Shown on hover (SVG `<title>`), e.g. "test image 1234".
        package var tooltip: String?
        /// Draws the title in the error colour (used for misclassified images).
        package var highlighted: Bool = false
    }

    package var title: String
    package var cells: [Cell]
    /// Images per row.
    package var columns: Int
    /// Screen pixels per image pixel.
    package var scale: Double
    /// Number of gray levels kept (2...256).
    package var grayLevels: Int

    package init(title: String, cells: [Cell], columns: Int = 10, scale: Double = 3, grayLevels: Int = 16) {
        self.title = title
        self.cells = cells
        self.columns = max(1, columns)
        self.scale = max(0.5, scale)
        self.grayLevels = min(256, max(2, grayLevels))
    }

    /// The standalone SVG document.
    package func svg() -> String { canvas().document() }

    func canvas() -> SVGCanvas {
        let maxWidth = cells.map(\.image.width).max() ?? 28
        let maxHeight = cells.map(\.image.height).max() ?? 28
        let titleSize = 11.0
        // Titles must fit their cell: estimate 0.6 em per character of the longest one.
        let longestTitle = cells.map(\.title.count).max() ?? 0
        let cellWidth = max(Double(maxWidth) * scale, Double(longestTitle) * titleSize * 0.6) + 10
        let cellHeight = Double(maxHeight) * scale + titleSize + 12
        let used = max(1, min(columns, cells.count))
        let rows = (cells.count + used - 1) / used
        let header = 26.0
        var canvas = SVGCanvas(width: Double(used) * cellWidth + 10, height: header + Double(max(rows, 1)) * cellHeight + 6,
                               title: title)
        canvas.text(title, x: 8, y: 17, size: 14, weight: "600")
        if cells.isEmpty {
            canvas.text("(no images)", x: 8, y: header + 20, size: 12, fill: Palette.muted)
        }
        for (index, cell) in cells.enumerated() {
            let x = 8 + Double(index % used) * cellWidth
            let y = header + Double(index / used) * cellHeight
            let imageWidth = Double(cell.image.width) * scale
            let left = x + (cellWidth - 10 - imageWidth) / 2
            canvas.raw("<g>")
            if let tooltip = cell.tooltip { canvas.raw("<title>\(XML.escaped(tooltip))</title>") }
            canvas.text(cell.title, x: x + (cellWidth - 10) / 2, y: y + titleSize, size: titleSize, anchor: .middle,
                        fill: cell.highlighted ? Palette.error : Palette.ink, weight: cell.highlighted ? "600" : nil)
            let top = y + titleSize + 4
            canvas.rect(x: left, y: top, width: imageWidth, height: Double(cell.image.height) * scale,
                        fill: "#ffffff", stroke: Palette.grid)
            canvas.raw(pixelPaths(cell.image, left: left, top: top))
            canvas.raw("</g>\n")
        }
        return canvas
    }

    /// One `<path>` per gray level, each a list of unit squares scaled into place; equal
    /// neighbours on a row merge into one rectangle.
    func pixelPaths(_ image: DigitImage, left: Double, top: Double) -> String {
        let levels = grayLevels
        var runs = [String](repeating: "", count: levels)
        image.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<image.height {
                var column = 0
                while column < image.width {
                    let level = quantize(pixels[row * image.width + column], levels: levels)
                    var end = column + 1
                    while end < image.width && quantize(pixels[row * image.width + end], levels: levels) == level { end += 1 }
                    if level > 0 { runs[level] += "M\(column) \(row)h\(end - column)v1h-\(end - column)z" }
                    column = end
                }
            }
        }
        let canvas = SVGCanvas(width: 0, height: 0, title: "")
        var out = "<g transform=\"translate(\(canvas.n(left)) \(canvas.n(top))) scale(\(canvas.n(scale)))\" shape-rendering=\"crispEdges\">"
        for level in 1..<levels where !runs[level].isEmpty {
            // Ink is dark on white, as in the notebook's gray_r colour map.
            let gray = 255 - Int((Double(level) / Double(levels - 1) * 255).rounded())
            out += "<path fill=\"rgb(\(gray),\(gray),\(gray))\" d=\"\(runs[level])\"/>"
        }
        return out + "</g>"
    }

    private func quantize(_ value: UInt8, levels: Int) -> Int {
        Int((Double(value) / 255 * Double(levels - 1)).rounded())
    }
}

/// One test image the model got wrong.
package struct Misclassification: Sendable {
    /// Index of the image in the test set.
    package var index: Int
    package var truth: Int
    package var predicted: Int
    /// The model's probability for `predicted`.
    package var probability: Double
    package var image: DigitImage

    package init(index: Int, truth: Int, predicted: Int, probability: Double, image: DigitImage) {
        self.index = index
        self.truth = truth
        self.predicted = predicted
        self.probability = probability
        self.image = image
    }
}

extension DigitGrid {
    /// Sample images titled with their class names.
    package static func samples(_ images: [(image: DigitImage, label: Int)], classNames: [String],
                               title: String = "Sample test images", columns: Int = 10) -> DigitGrid {
        let cells = images.enumerated().map { index, sample in
            Cell(image: sample.image, title: className(sample.label, classNames), tooltip: "sample \(index + 1)")
        }
        return DigitGrid(title: title, cells: cells, columns: columns)
    }

    /// Misclassified images titled "t:<true> p:<predicted> (<probability>)", most confident
    /// mistakes first (ties: lower test index first), at most `limit` of them.
    package static func misclassified(_ mistakes: [Misclassification], classNames: [String], limit: Int = 50,
                                     title: String? = nil, columns: Int = 10) -> DigitGrid {
        let sorted = mistakes.sorted { $0.probability != $1.probability ? $0.probability > $1.probability : $0.index < $1.index }
        let shown = sorted.prefix(max(0, limit))
        let cells = shown.map { m in
            Cell(image: m.image,
                 title: "t:\(className(m.truth, classNames)) p:\(className(m.predicted, classNames)) (\(Format.fixed(m.probability, 2)))",
                 tooltip: "test image \(m.index): true \(className(m.truth, classNames)), predicted \(className(m.predicted, classNames)) with probability \(Format.fixed(m.probability, 4))",
                 highlighted: true)
        }
        let heading = title ?? "Misclassified test images, most confident first (\(shown.count) of \(mistakes.count))"
        return DigitGrid(title: heading, cells: Array(cells), columns: columns)
    }
}

/// The name of class `index`, or its number when the list has no such entry.
func className(_ index: Int, _ names: [String]) -> String {
    names.indices.contains(index) ? names[index] : String(index)
}
