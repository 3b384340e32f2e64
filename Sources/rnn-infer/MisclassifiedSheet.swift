/// An SVG contact sheet of misclassified images, each titled "t:<true> p:<predicted> (<probability>)".
///
/// Each image is drawn pixel by pixel (only non-background pixels, as gray squares on white), so the
/// file needs no image codec and stays valid XML whatever the labels contain (they are escaped).
struct MisclassifiedSheet {
    struct Entry {
        var index: Int
        var truth: String
        var predicted: String
        var probability: Float
        var pixels: [UInt8]
    }

    let height: Int
    let width: Int
    /// At most this many images are kept (the first ones in input order).
    let limit: Int
    private(set) var entries: [Entry] = []
    private(set) var missed = 0

    init(height: Int, width: Int, limit: Int) {
        self.height = height
        self.width = width
        self.limit = limit
    }

    mutating func add(_ entry: Entry) {
        missed += 1
        if entries.count < limit { entries.append(entry) }
    }

    /// The SVG document.
    func svg() -> String {
        let scale = 3
        let columns = max(1, min(10, entries.count))
        let rows = (entries.count + columns - 1) / columns
        let cellWidth = max(width * scale, 96) + 8
        let cellHeight = height * scale + 22
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(columns * cellWidth)\" height=\"\(max(rows, 1) * cellHeight + 24)\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"4\" y=\"16\" font-family=\"monospace\" font-size=\"13\">\(entries.count) of \(missed) misclassified images</text>\n"
        for (n, entry) in entries.enumerated() {
            let x = (n % columns) * cellWidth + 4
            let y = (n / columns) * cellHeight + 24
            let title = "t:\(entry.truth) p:\(entry.predicted) (\(fixed(entry.probability, 2)))"
            out += "<g transform=\"translate(\(x),\(y))\"><title>image \(entry.index): \(xmlEscaped(title))</title>\n"
            out += "<text x=\"0\" y=\"12\" font-family=\"monospace\" font-size=\"11\">\(xmlEscaped(title))</text>\n"
            out += "<g transform=\"translate(0,16) scale(\(scale))\"><rect width=\"\(width)\" height=\"\(height)\" fill=\"white\" stroke=\"#ccc\" stroke-width=\"0.3\"/>"
            for r in 0..<height {
                for c in 0..<width {
                    let v = entry.pixels[r * width + c]
                    if v == 0 { continue }
                    let gray = 255 - Int(v)
                    out += "<rect x=\"\(c)\" y=\"\(r)\" width=\"1\" height=\"1\" fill=\"rgb(\(gray),\(gray),\(gray))\"/>"
                }
            }
            out += "</g></g>\n"
        }
        return out + "</svg>\n"
    }
}

/// `text` with the five XML special characters escaped and the control characters XML 1.0
/// forbids replaced by U+FFFD, so that any label gives a well-formed document.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1,
               scalar.value < 0x20, scalar != "\t", scalar != "\n", scalar != "\r" {
                out += "\u{FFFD}"
            } else {
                out.append(character)
            }
        }
    }
    return out
}
