/// A rendered figure: an SVG document with the name it is saved under and its caption.
public struct Figure: Sendable {
    /// File stem, e.g. "learning-curves-accuracy" (saved as `learning-curves-accuracy.svg`).
    public var name: String
    public var title: String
    /// One sentence saying what to look at.
    public var caption: String
    /// The standalone document (with XML declaration), for writing to a `.svg` file.
    public var svg: String
    /// The bare `<svg>` element, for inlining into HTML.
    public var inlineSVG: String

    init(name: String, caption: String, canvas: SVGCanvas) {
        self.name = name
        self.title = canvas.title
        self.caption = caption
        self.svg = canvas.document()
        self.inlineSVG = canvas.inlineElement()
    }

    /// The file name: ``name`` + ".svg".
    public var fileName: String { name + ".svg" }
}
