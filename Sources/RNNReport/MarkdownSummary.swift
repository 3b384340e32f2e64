import Foundation

/// The report as Markdown (REPORT.md): the same headline numbers, verdict, findings and tables as
/// the HTML page, with the figures referenced as the `.svg` files written next to it.
package enum MarkdownSummary {
    /// Renders `input`; `figures` are linked as `NAME.svg` relative to the Markdown file.
    package static func render(_ input: ReportInput, figures: [Figure]) -> String {
        var out = "# \(inline(input.title))\n\n"
        if let question = input.question { out += "*\(inline(question))*\n\n" }
        if let evaluation = input.evaluation {
            out += "- **Test accuracy: \(Format.percent(evaluation.accuracy))** (\(Format.grouped(evaluation.errorCount)) errors in \(Format.grouped(evaluation.confusion.total)) \(inline(input.datasetName)) test images)\n"
        } else if let accuracy = input.runLog?.testAccuracy {
            out += "- **Test accuracy: \(Format.percent(accuracy))** (trainer's log)\n"
        }
        out += "- **Parameters: \(Format.grouped(input.model.parameterCount))**, model file \(Format.bytes(input.model.fileBytes)) (`\(inline(input.model.name))`)\n"
        if let fastest = input.speeds.max(by: { $0.imagesPerSecond < $1.imagesPerSecond }) {
            out += "- **Throughput: \(Format.compact(fastest.imagesPerSecond)) images/s** (batch \(Format.grouped(fastest.batchSize)), \(fastest.threads) thread\(fastest.threads == 1 ? "" : "s"), Swift runtime)\n"
        }
        out += "\n"

        let verdict = Verdict.derive(input)
        if !verdict.isEmpty {
            out += "## The answer\n\n"
            out += table(["", "RNN (LSTM)", "CNN", "verdict"], verdict.map { [$0.aspect, $0.rnn, $0.cnn, $0.answer] })
        }
        let findings = Findings.derive(input) + input.findings
        if !findings.isEmpty {
            out += "## Findings\n\n" + findings.map { "- \(inline($0))\n" }.joined() + "\n"
        }
        if !figures.isEmpty {
            out += "## Figures\n\n"
            for f in figures {
                out += "![\(inline(f.title))](\(f.fileName))\n\n*\(inline(f.caption))*\n\n"
            }
        }
        if let log = input.runLog, !log.epochs.isEmpty {
            out += "## Training log\n\n" + table(ReportTables.epochHeader, ReportTables.epochRows(log))
        }
        if let evaluation = input.evaluation {
            out += "## Per class\n\n" + table(ReportTables.classHeader, ReportTables.classRows(evaluation.confusion, names: input.classNames))
            let pairs = evaluation.confusion.mostConfusedPairs(limit: 5)
            if !pairs.isEmpty {
                out += "Most confused pairs: " + pairs.map { "\(className($0.truth, input.classNames)) → \(className($0.predicted, input.classNames)) (\($0.count))" }
                    .map(inline).joined(separator: ", ") + ".\n\n"
            }
        }
        if !input.sizes.isEmpty { out += "## Size per dtype\n\n" + table(ReportTables.sizeHeader, ReportTables.sizeRows(input.sizes)) }
        if !input.speeds.isEmpty { out += "## Speed (Swift runtime)\n\n" + table(ReportTables.speedHeader, ReportTables.speedRows(input.speeds)) }
        if let comparison = input.comparison, !comparison.runs.isEmpty {
            out += "## RNN versus CNN (PyTorch)\n\n"
            if comparison.quick { out += "> Produced with `--quick`: numbers are a smoke test only.\n\n" }
            out += table(ReportTables.comparisonHeader, ReportTables.comparisonRows(comparison))
            for run in comparison.runs where run.dataset == "mnist" {
                if let architecture = run.architecture { out += "- **\(inline(run.name))**: \(inline(architecture))\n" }
            }
            out += "\n"
        }
        if let text = input.textComparison {
            out += "## IMDb sentiment: LSTM versus bag-of-words\n\n"
            if let summary = text.summary { out += inline(summary) + "\n\n" }
            out += table(TextComparison.header, text.rows)
            if !text.notes.isEmpty { out += text.notes.map { "- \(inline($0))\n" }.joined() + "\n" }
        }
        if let family = input.family {
            out += "## The recurrent family: LSTM, GRU, bidirectional LSTM\n\n"
            if !family.findings.isEmpty { out += inline(family.findings.joined(separator: " ")) + "\n\n" }
            out += table(RecurrentFamily.header, family.tableRows)
            if let provenance = family.provenance { out += "Measured by \(inline(provenance)).\n\n" }
        }
        if !input.model.layers.isEmpty {
            out += "## The model\n\n" + table(["layer", "type", "input", "output", "parameters"],
                                              input.model.layers.map { [$0.name, $0.kind, $0.input, $0.output, Format.grouped($0.parameters)] })
        }
        if let footer = input.footer { out += "---\n\n\(inline(footer))\n" }
        return out
    }

    /// A pipe table; pipes and newlines inside cells are escaped.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        func cell(_ text: String) -> String { inline(text).replacingOccurrences(of: "|", with: "\\|") }
        var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + header.map { _ in "---|" }.joined() + "\n"
        for row in rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return out + "\n"
    }

    /// Text made safe for one Markdown line: newlines become spaces and HTML-significant
    /// characters are escaped, so a label like "<&>" cannot turn into markup on GitHub.
    static func inline(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\n", "\r": out += " "
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            default: out.append(character)
            }
        }
        return out
    }
}
