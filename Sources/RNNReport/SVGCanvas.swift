/// A minimal SVG writer: the shapes the figures need, with every text escaped.
///
/// The documents it produces are standalone (no external fonts, images, stylesheets or scripts),
/// carry a `viewBox` so that they scale when inlined into HTML, and a `<title>` for screen readers.
struct SVGCanvas {
    let width: Double
    let height: Double
    let title: String
    private(set) var body = ""

    /// The generic font stack: only families every browser maps to an installed font.
    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"

    init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    /// Appends raw markup; callers build it only from numbers and escaped text.
    mutating func raw(_ markup: String) {
        body += markup
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                       stroke: String? = nil, radius: Double = 0, tooltip: String? = nil) {
        var tag = "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(0, width)))\" height=\"\(n(max(0, height)))\" fill=\"\(fill)\""
        if let stroke { tag += " stroke=\"\(stroke)\"" }
        if radius > 0 { tag += " rx=\"\(n(radius))\"" }
        if let tooltip {
            body += tag + "><title>\(XML.escaped(tooltip))</title></rect>\n"
        } else {
            body += tag + "/>\n"
        }
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil) {
        var tag = "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\""
        if let dash { tag += " stroke-dasharray=\"\(dash)\"" }
        body += tag + "/>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        let list = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
        var tag = "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
        if let dash { tag += " stroke-dasharray=\"\(dash)\"" }
        body += tag + "/>\n"
    }

    mutating func circle(x: Double, y: Double, radius: Double, fill: String, tooltip: String? = nil) {
        let tag = "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(radius))\" fill=\"\(fill)\""
        if let tooltip {
            body += tag + "><title>\(XML.escaped(tooltip))</title></circle>\n"
        } else {
            body += tag + "/>\n"
        }
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                       fill: String = Palette.ink, weight: String? = nil, rotate: Double? = nil) {
        var tag = "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\""
        if anchor != .start { tag += " text-anchor=\"\(anchor.rawValue)\"" }
        if fill != Palette.ink { tag += " fill=\"\(fill)\"" }
        if let weight { tag += " font-weight=\"\(weight)\"" }
        if let rotate { tag += " transform=\"rotate(\(n(rotate)) \(n(x)) \(n(y)))\"" }
        body += tag + ">\(XML.escaped(content))</text>\n"
    }

    /// The complete document, with an XML declaration so that it is also a valid standalone file.
    func document() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += inlineElement()
        return out
    }

    /// The `<svg>` element alone, for inlining into HTML.
    func inlineElement() -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" "
        out += "width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" aria-label=\"\(XML.escaped(title))\" "
        out += "font-family=\"\(Self.fontFamily)\">\n"
        out += "<title>\(XML.escaped(title))</title>\n"
        out += "<rect width=\"\(n(width))\" height=\"\(n(height))\" fill=\"\(Palette.background)\"/>\n"
        out += body
        out += "</svg>\n"
        return out
    }

    /// A coordinate with at most two decimals and no trailing zeros, keeping files small.
    func n(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        var text = Format.fixed(rounded, 2)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}

/// Colours shared by every figure: a colour-blind-safe qualitative set (Okabe & Ito, 2008).
enum Palette {
    static let background = "#ffffff"
    static let ink = "#1f2328"
    static let muted = "#6e7781"
    static let grid = "#e6e8eb"
    static let axis = "#8c959f"
    static let error = "#cf222e"
    /// Series colours, in order: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
    static let series = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#B8A000", "#000000"]

    static func series(_ index: Int) -> String { series[((index % series.count) + series.count) % series.count] }

    /// A sequential white-to-blue ramp for heat maps; `t` in 0...1.
    static func heat(_ t: Double) -> String {
        // From #f7fbff to #08306b (ColorBrewer "Blues" end points).
        ramp(t, from: (247.0, 251.0, 255.0), to: (8.0, 48.0, 107.0))
    }

    /// A red ramp for off-diagonal (error) cells of a confusion matrix; `t` in 0...1.
    static func errorHeat(_ t: Double) -> String {
        ramp(t, from: (255.0, 245.0, 240.0), to: (165.0, 15.0, 21.0))
    }

    /// The colour at `t` (clamped to 0...1; non-finite reads as 0) between two RGB end points, interpolated in sRGB.
    private static func ramp(_ t: Double, from: (Double, Double, Double), to: (Double, Double, Double)) -> String {
        let clamped = min(1, max(0, t.isFinite ? t : 0))
        let r = Int((from.0 + (to.0 - from.0) * clamped).rounded())
        let g = Int((from.1 + (to.1 - from.1) * clamped).rounded())
        let b = Int((from.2 + (to.2 - from.2) * clamped).rounded())
        return "rgb(\(r),\(g),\(b))"
    }
}
