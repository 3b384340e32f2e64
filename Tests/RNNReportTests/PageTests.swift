import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RNNReport

@Suite struct PageTests {
    @Test func everyFigureIsValidXMLAndNamedUniquely() throws {
        let figures = ReportFigures.make(try fullInput())
        let names = figures.map(\.name)
        #expect(Set(names).count == names.count)
        for expected in ["samples", "learning-curves-accuracy", "learning-curves-loss", "confusion-matrix", "misclassified",
                         "sizes", "speed", "compare-error", "compare-epochs", "compare-size", "compare-speed-batch10000",
                         "compare-speed-batch1", "compare-train-time"] {
            #expect(names.contains(expected), "missing figure \(expected)")
        }
        for figure in figures {
            #expect(throws: Never.self, "\(figure.name) is not well-formed XML") { _ = try parseXML(figure.svg) }
            #expect(figure.svg.hasPrefix("<?xml"))
            #expect(!figure.inlineSVG.hasPrefix("<?xml"))
        }
    }

    @Test func htmlContainsEveryFigureAndNoScriptOrExternalResource() throws {
        let input = try fullInput()
        let figures = ReportFigures.make(input)
        let html = HTMLPage.render(input, figures: figures)
        for figure in figures {
            #expect(html.contains("id=\"fig-\(figure.name)\""), "figure \(figure.name) missing from the page")
            #expect(html.contains(figure.inlineSVG))
        }
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))
        #expect(!html.contains("https://"))
        // The page is also well-formed XML (XHTML-compatible), which proves that every label was escaped.
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
        #expect(throws: Never.self) { _ = try parseXML(body) }
        #expect(html.contains("LSTM &amp; &lt;friends&gt;"))
        #expect(html.contains("&lt;b&gt;bold&lt;/b&gt;"))
    }

    @Test func htmlLeadsWithTheVerdict() throws {
        let input = try fullInput()
        let html = HTMLPage.render(input, figures: ReportFigures.make(input))
        let verdict = try #require(html.range(of: "The answer"))
        let figures = try #require(html.range(of: "<figure"))
        #expect(verdict.lowerBound < figures.lowerBound)
        let items = Verdict.derive(input)
        #expect(items.map(\.aspect) == ["Solves the task?", "Accuracy (2 epochs each)", "Model size",
                                        "Inference speed (batch 10,000, 1 thread)", "Training time per epoch"])
        #expect(items[1].answer == "CNN better by 0.50 points")
        #expect(items[1].rnnWins == false)
        #expect(items[3].answer == "CNN 1.7x faster")
    }

    /// With a CNN measured in the same run (`rnn-report --cnn-model`), "The answer" comes from the two
    /// models' own measurements, one row per aspect of the course question, not from the PyTorch comparison.
    @Test func theAnswerFromTwoMeasuredModels() throws {
        var input = try fullInput()
        input.sizes = [SizeRow(dtype: "f32", fileBytes: 800_000, testAccuracy: 0.99), SizeRow(dtype: "int8", fileBytes: 200_000, testAccuracy: 0.989)]
        input.speeds = [SpeedRow(batchSize: 1, threads: 1, imagesPerSecond: 20_000, medianSeconds: 5e-5, runs: 10),
                        SpeedRow(batchSize: 10_000, threads: 2, imagesPerSecond: 80_000, medianSeconds: 0.125, runs: 5)]
        input.runLog?.trainSeconds = 70
        input.cnn = MeasuredModel(name: "mnist-cnn.rnnm", parameters: 61_706, testAccuracy: 0.9925, trainSeconds: 47, epochs: 10,
                                  sizes: [SizeRow(dtype: "f32", fileBytes: 230_000, testAccuracy: 0.9925), SizeRow(dtype: "int8", fileBytes: 63_000, testAccuracy: 0.9924)],
                                  speeds: [SpeedRow(batchSize: 1, threads: 1, imagesPerSecond: 47_000, medianSeconds: 2e-5, runs: 10),
                                           SpeedRow(batchSize: 10_000, threads: 1, imagesPerSecond: 60_000, medianSeconds: 0.16, runs: 5),
                                           SpeedRow(batchSize: 10_000, threads: 2, imagesPerSecond: 114_000, medianSeconds: 0.09, runs: 5)])
        let items = Verdict.derive(input)
        #expect(items.map(\.aspect) == ["Test accuracy", "Parameters", "File size, f32", "File size, int8", "Training time",
                                        "Images/s, batch 1", "Images/s, batch 10,000"])
        #expect(items[0].cnn == "99.25%" && items[0].rnnWins == false)
        #expect(items[2].answer == "CNN 3.5x smaller")
        #expect(items[3].rnn.contains("(98.90%)"))
        #expect(items[4].cnn == "47.0 s (10 epochs)" && items[4].answer == "CNN 1.5x faster to train")
        #expect(items[5].answer == "CNN 2.4x faster")
        #expect(items[6].cnn.hasSuffix("(2 threads)") && items[6].answer == "CNN 1.4x faster")
        let markdown = MarkdownSummary.render(input, figures: [])
        #expect(markdown.contains("| Images/s, batch 10,000 |"))
        let html = HTMLPage.render(input, figures: [])
        #expect(html.contains("<th>CNN</th>") && html.contains("Images/s, batch 1</th>"))
    }

    @Test func markdownReferencesEveryFigureFileAndEscapesLabels() throws {
        let input = try fullInput()
        let figures = ReportFigures.make(input)
        let markdown = MarkdownSummary.render(input, figures: figures)
        for figure in figures { #expect(markdown.contains("(\(figure.fileName))")) }
        #expect(markdown.contains("**Test accuracy: 70.00%**"))
        #expect(markdown.contains("&lt;&amp;&gt;"))
        #expect(!markdown.contains("<&>"))
    }

    @Test func reportWithOnlyAModelHasNoFiguresButRenders() throws {
        let input = ReportInput(title: "bare", model: ModelOverview(name: "m.rnnm", fileBytes: 10, parameterCount: 5),
                                datasetName: "MNIST", classNames: [])
        let figures = ReportFigures.make(input)
        #expect(figures.isEmpty)
        let html = HTMLPage.render(input, figures: figures)
        #expect(html.contains("m.rnnm"))
        #expect(Verdict.derive(input).isEmpty)
    }

    @Test func formattingIsLocaleIndependent() {
        #expect(Format.grouped(1_234_567) == "1,234,567")
        #expect(Format.percent(0.98765) == "98.77%")
        #expect(Format.bytes(290_000) == "283.2 KiB")
        #expect(Format.compact(12_345) == "12.3k")
    }
}
