/// A rendered figure: an SVG document with the name it is saved under and its caption.
package struct Figure: Sendable {
    /// File stem, e.g. "learning-curves-accuracy" (saved as `learning-curves-accuracy.svg`).
    package var name: String
    package var title: String
    /// One sentence saying what to look at.
    package var caption: String
    /// The standalone document (with XML declaration), for writing to a `.svg` file.
    package var svg: String
    /// The bare `<svg>` element, for inlining into HTML.
    package var inlineSVG: String

    init(name: String, caption: String, canvas: SVGCanvas) {
        self.name = name
        self.title = canvas.title
        self.caption = caption
        self.svg = canvas.document()
        self.inlineSVG = canvas.inlineElement()
    }

    /// The file name: ``name`` + ".svg".
    package var fileName: String { name + ".svg" }
}
