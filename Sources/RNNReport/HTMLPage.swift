/// The report as one self-contained HTML page: inline CSS and inline SVG figures, no script, no
/// external font, image or stylesheet, so it opens offline and can be mailed as a single file.
///
/// The page leads with the answer (headline numbers and the verdict table) and puts the detail
/// (per-class tables, layer table, epoch log) below it, much of it in `<details>` blocks.
package enum HTMLPage {
    /// Renders `input` with `figures` (normally ``ReportFigures/make(_:)`` of the same input).
    package static func render(_ input: ReportInput, figures: [Figure]) -> String {
        var page = HTMLBuilder()
        let byName = Dictionary(figures.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var shown = Set<String>()
        func figure(_ name: String) {
            guard let f = byName[name], !shown.contains(name) else { return }
            shown.insert(name)
            page.raw("<figure id=\"fig-\(XML.escaped(f.name))\">\(f.inlineSVG)<figcaption>\(XML.escaped(f.caption))</figcaption></figure>\n")
        }

        page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
        page.raw("<title>\(XML.escaped(input.title))</title>\n<style>\(stylesheet)</style>\n</head>\n<body>\n<main>\n")
        page.raw("<header><h1>\(XML.escaped(input.title))</h1>")
        if let question = input.question { page.raw("<p class=\"question\">\(XML.escaped(question))</p>") }
        page.raw("</header>\n")

        // Headline numbers.
        page.raw("<section class=\"cards\">\n")
        if let evaluation = input.evaluation {
            page.card(Format.percent(evaluation.accuracy), "test accuracy",
                      "\(Format.grouped(evaluation.errorCount)) errors in \(Format.grouped(evaluation.confusion.total)) \(input.datasetName) test images")
        } else if let accuracy = input.runLog?.testAccuracy {
            page.card(Format.percent(accuracy), "test accuracy", "as logged by the trainer")
        }
        page.card(Format.grouped(input.model.parameterCount), "parameters", input.model.layers.map(\.kind).joined(separator: " → "))
        page.card(Format.bytes(input.model.fileBytes), "model file", input.model.name)
        if let fastest = input.speeds.max(by: { $0.imagesPerSecond < $1.imagesPerSecond }) {
            page.card(Format.compact(fastest.imagesPerSecond), "images / second",
                      "batch \(Format.grouped(fastest.batchSize)), \(fastest.threads) thread\(fastest.threads == 1 ? "" : "s")")
        }
        if let single = input.speeds.first(where: { $0.batchSize == 1 }) {
            page.card(Format.fixed(single.medianSeconds * 1000, 2) + " ms", "per single image", "median latency, batch 1")
        }
        page.raw("</section>\n")

        let verdict = Verdict.derive(input)
        if !verdict.isEmpty {
            let compared = verdict.contains { !$0.cnn.isEmpty }
            page.raw("<section><h2>The answer</h2>\n<table class=\"verdict\"><thead><tr><th></th><th>RNN (LSTM)</th>")
            if compared { page.raw("<th>CNN</th>") }
            page.raw("<th>Verdict</th></tr></thead><tbody>\n")
            for item in verdict {
                let mark = item.rnnWins.map { $0 ? "win" : "loss" } ?? "neutral"
                page.raw("<tr class=\"\(mark)\"><th>\(XML.escaped(item.aspect))</th><td>\(XML.escaped(item.rnn))</td>")
                if compared { page.raw("<td>\(XML.escaped(item.cnn))</td>") }
                page.raw("<td>\(XML.escaped(item.answer))</td></tr>\n")
            }
            page.raw("</tbody></table>\n</section>\n")
        }

        let findings = Findings.derive(input) + input.findings
        if !findings.isEmpty {
            page.raw("<section><h2>Findings</h2><ul class=\"findings\">\n")
            for finding in findings { page.raw("<li>\(XML.escaped(finding))</li>\n") }
            page.raw("</ul></section>\n")
        }

        if byName["samples"] != nil {
            page.raw("<section><h2>The data</h2>\n")
            figure("samples")
            page.raw("</section>\n")
        }

        if let log = input.runLog, !log.epochs.isEmpty {
            page.raw("<section><h2>Training</h2>\n<div class=\"row\">")
            figure("learning-curves-accuracy")
            figure("learning-curves-loss")
            page.raw("</div>\n")
            page.epochTable(log)
            page.raw("</section>\n")
        }

        if let evaluation = input.evaluation {
            page.raw("<section><h2>Where it goes wrong</h2>\n<div class=\"row\">")
            figure("confusion-matrix")
            page.classTable(evaluation.confusion, names: input.classNames)
            page.raw("</div>\n")
            figure("misclassified")
            page.raw("</section>\n")
        }

        if !input.sizes.isEmpty || !input.speeds.isEmpty {
            page.raw("<section><h2>Size and speed of this model</h2>\n<div class=\"row\">")
            figure("sizes")
            figure("speed")
            page.raw("</div>\n")
            page.sizeTable(input.sizes)
            page.speedTable(input.speeds)
            page.raw("</section>\n")
        }

        if let comparison = input.comparison, !comparison.runs.isEmpty {
            page.raw("<section><h2>RNN versus CNN (PyTorch, same data, same optimizer)</h2>\n")
            if comparison.quick {
                page.raw("<p class=\"warning\">Produced with <code>--quick</code>: one epoch on a subset. These numbers only show that the pipeline works.</p>\n")
            }
            page.raw("<div class=\"row\">")
            for name in ["compare-error", "compare-epochs", "compare-size", "compare-speed-batch10000", "compare-speed-batch1",
                         "compare-train-time", "compare-fashion-error"] {
                figure(name)
            }
            page.raw("</div>\n")
            page.comparisonTable(comparison)
            page.raw("</section>\n")
        }

        if let text = input.textComparison {
            page.raw("<section id=\"imdb\"><h2>IMDb sentiment: LSTM versus bag-of-words</h2>\n")
            if let summary = text.summary { page.raw("<p>\(XML.escaped(summary))</p>\n") }
            page.table(TextComparison.header, text.rows, numeric: [1, 2, 3, 4])
            if !text.notes.isEmpty {
                page.raw("<ul>\n")
                for note in text.notes { page.raw("<li>\(XML.escaped(note))</li>\n") }
                page.raw("</ul>\n")
            }
            page.raw("<div class=\"row\">")
            for name in TextComparison.figureNames { figure(name) }
            page.raw("</div>\n</section>\n")
        }

        if let family = input.family {
            page.raw("<section id=\"family\"><h2>The recurrent family: LSTM, GRU, bidirectional LSTM</h2>\n")
            if !family.findings.isEmpty { page.raw("<p>\(XML.escaped(family.findings.joined(separator: " ")))</p>\n") }
            page.table(RecurrentFamily.header, family.tableRows, numeric: [2, 3, 4, 5, 6, 7])
            if let provenance = family.provenance { page.raw("<p class=\"question\">Measured by \(XML.escaped(provenance)).</p>\n") }
            page.raw("</section>\n")
        }

        // Any figure not placed above (future additions) still appears.
        let rest = figures.filter { !shown.contains($0.name) }
        if !rest.isEmpty {
            page.raw("<section><h2>More figures</h2><div class=\"row\">")
            for f in rest { figure(f.name) }
            page.raw("</div></section>\n")
        }

        page.raw("<section><h2>The model</h2>\n")
        page.modelTable(input.model)
        page.raw("</section>\n")
        if let footer = input.footer { page.raw("<footer>\(XML.escaped(footer))</footer>\n") }
        page.raw("</main>\n</body>\n</html>\n")
        return page.text
    }

    static let stylesheet = """
    :root{--ink:#1f2328;--muted:#6e7781;--line:#e6e8eb;--accent:#0072B2;--win:#e6f4ea;--loss:#fdecea}
    *{box-sizing:border-box}
    body{margin:0;background:#f6f8fa;color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}
    main{max-width:1180px;margin:0 auto;padding:24px}
    header h1{margin:0 0 4px;font-size:28px}
    .question{margin:0 0 16px;color:var(--muted);font-size:17px}
    section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:16px 0}
    h2{margin:0 0 12px;font-size:19px}
    .cards{display:flex;flex-wrap:wrap;gap:12px;background:none;border:none;padding:0}
    .card{flex:1 1 170px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px}
    .card .value{font-size:30px;font-weight:700;color:var(--accent);line-height:1.1}
    .card .label{font-weight:600}
    .card .note{color:var(--muted);font-size:13px}
    .row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
    figure{margin:8px 0;max-width:100%}
    figure svg{max-width:100%;height:auto;display:block}
    figcaption{color:var(--muted);font-size:13px;max-width:560px}
    table{border-collapse:collapse;font-size:14px;margin:8px 0}
    th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .verdict tr.win td:last-child{background:var(--win)}
    .verdict tr.loss td:last-child{background:var(--loss)}
    .verdict th{white-space:nowrap}
    .findings li{margin:4px 0}
    .warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
    details{margin:8px 0}
    summary{cursor:pointer;color:var(--accent)}
    code{font-size:13px}
    footer{color:var(--muted);font-size:12px;text-align:center;margin:24px 0}
    """
}

/// Accumulates the page's markup; every caller-supplied string goes through ``XML/escaped(_:)``.
struct HTMLBuilder {
    private(set) var text = ""

    mutating func raw(_ markup: String) { text += markup }

    mutating func card(_ value: String, _ label: String, _ note: String) {
        raw("<div class=\"card\"><div class=\"value\">\(XML.escaped(value))</div><div class=\"label\">\(XML.escaped(label))</div>")
        raw("<div class=\"note\">\(XML.escaped(note))</div></div>\n")
    }

    /// A table; `numeric[i]` right-aligns column `i`.
    mutating func table(_ header: [String], _ rows: [[String]], numeric: Set<Int> = [], caption: String? = nil) {
        raw("<table>")
        if let caption { raw("<caption>\(XML.escaped(caption))</caption>") }
        raw("<thead><tr>")
        for (i, h) in header.enumerated() { raw("<th\(numeric.contains(i) ? " class=\"num\"" : "")>\(XML.escaped(h))</th>") }
        raw("</tr></thead><tbody>\n")
        for row in rows {
            raw("<tr>")
            for (i, cell) in row.enumerated() { raw("<td\(numeric.contains(i) ? " class=\"num\"" : "")>\(XML.escaped(cell))</td>") }
            raw("</tr>\n")
        }
        raw("</tbody></table>\n")
    }

    mutating func epochTable(_ log: RunLog) {
        raw("<details><summary>Epoch log (\(log.epochs.count) epochs)</summary>\n")
        table(ReportTables.epochHeader, ReportTables.epochRows(log), numeric: Set(0..<ReportTables.epochHeader.count))
        raw("</details>\n")
    }

    mutating func classTable(_ matrix: ConfusionMatrix, names: [String]) {
        raw("<div>")
        table(ReportTables.classHeader, ReportTables.classRows(matrix, names: names), numeric: [1, 2, 3, 4])
        let pairs = matrix.mostConfusedPairs(limit: 5)
        if !pairs.isEmpty {
            table(["true", "predicted as", "times"], pairs.map { [className($0.truth, names), className($0.predicted, names), String($0.count)] },
                  numeric: [2], caption: "Most confused pairs")
        }
        raw("</div>")
    }

    mutating func sizeTable(_ rows: [SizeRow]) {
        guard !rows.isEmpty else { return }
        table(ReportTables.sizeHeader, ReportTables.sizeRows(rows), numeric: [1, 2, 3])
    }

    mutating func speedTable(_ rows: [SpeedRow]) {
        guard !rows.isEmpty else { return }
        table(ReportTables.speedHeader, ReportTables.speedRows(rows), numeric: [0, 1, 2, 3, 4])
    }

    mutating func comparisonTable(_ comparison: Comparison) {
        table(ReportTables.comparisonHeader, ReportTables.comparisonRows(comparison), numeric: Set(2..<ReportTables.comparisonHeader.count))
        let architectures = comparison.runs.filter { $0.architecture != nil && $0.dataset == "mnist" }
        if !architectures.isEmpty || !comparison.settings.isEmpty {
            raw("<details><summary>Architectures and settings</summary><ul>\n")
            for run in architectures { raw("<li><b>\(XML.escaped(run.name))</b>: \(XML.escaped(run.architecture ?? ""))</li>\n") }
            for key in comparison.settings.keys.sorted() {
                raw("<li>\(XML.escaped(key)): <code>\(XML.escaped(comparison.settings[key] ?? ""))</code></li>\n")
            }
            raw("</ul></details>\n")
        }
    }

    mutating func modelTable(_ model: ModelOverview) {
        if !model.layers.isEmpty {
            table(["layer", "type", "input", "output", "parameters"],
                  model.layers.map { [$0.name, $0.kind, $0.input, $0.output, Format.grouped($0.parameters)] }
                    + [["total", "", "", "", Format.grouped(model.parameterCount)]],
                  numeric: [4])
        }
        var facts = [("file", model.name), ("size", "\(Format.bytes(model.fileBytes)) (\(Format.grouped(model.fileBytes)) bytes)")]
        if !model.dtypes.isEmpty { facts.append(("weight dtypes", model.dtypes.joined(separator: ", "))) }
        facts += model.details
        raw("<details><summary>Model file details</summary>")
        table(["", ""], facts.map { [$0.0, $0.1] })
        raw("</details>\n")
    }
}
