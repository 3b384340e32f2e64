import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RNNReport

@Suite struct TextComparisonTests {
    /// bench/imdb_bow.py's `--json` output as it writes it, pasted in as `bag_of_words`.
    static let json = """
    {"schema": "rnn-imdb-compare/1", "test_reviews": 25000,
     "lstm": {"name": "LSTM <emb 64, H 128>", "test_accuracy": 0.88, "file_bytes": 5170000,
              "reviews_per_second": 1333, "training_minutes": 6.3, "note": "2 threads & folded embedding"},
     "bag_of_words": {"model": "bag-of-words logistic regression", "test_accuracy": 0.8861, "penalty": 1e-05,
                      "validation_accuracy": 0.896, "final_fit_seconds": 82.0, "tokenize_and_load_seconds": 40.1,
                      "test_reviews_per_second_including_featurization": 22000, "parameters": 19999,
                      "float32_weight_bytes": 79996}}
    """

    static func decoded() throws -> TextComparison {
        try TextComparison.decode(json: Data(json.utf8))
    }

    @Test func decodesTheLSTMAndTheVerbatimBagOfWordsOutput() throws {
        let comparison = try Self.decoded()
        #expect(comparison.testReviews == 25_000)
        #expect(comparison.lstm == TextComparison.Model(name: "LSTM <emb 64, H 128>", testAccuracy: 0.88, fileBytes: 5_170_000,
                                                        reviewsPerSecond: 1333, trainingMinutes: 6.3,
                                                        note: "2 threads & folded embedding"))
        #expect(comparison.bagOfWords == TextComparison.Model(name: "bag-of-words logistic regression", testAccuracy: 0.8861,
                                                              fileBytes: 79_996, reviewsPerSecond: 22_000,
                                                              trainingMinutes: 82.0 / 60))
        #expect(comparison.summary
            == "The LSTM is 0.61 points less accurate, 65x larger, 17x slower and 4.6x slower to train than the bag-of-words baseline.")
    }

    @Test func wrongSchemaMissingModelAndPercentagesAreRejected() {
        func error(_ text: String) -> ReportError? {
            do {
                _ = try TextComparison.decode(json: Data(text.utf8))
                return nil
            } catch { return error }
        }
        #expect(error("[1]") == .invalidTextComparison(detail: "expected a JSON object at the top level"))
        #expect(error(#"{"schema": "rnn-compare/1"}"#)
            == .invalidTextComparison(detail: "expected schema 'rnn-imdb-compare/1', found 'rnn-compare/1'"))
        #expect(error(#"{"schema": "rnn-imdb-compare/1", "lstm": {}}"#)
            == .invalidTextComparison(detail: "expected an object 'bag_of_words'"))
        #expect(error(#"{"schema": "rnn-imdb-compare/1", "lstm": {"test_accuracy": 88.0}, "bag_of_words": {}}"#)
            == .invalidTextComparison(detail: "lstm.test_accuracy: expected a fraction in 0...1, found 88.0"))
    }

    @Test func sectionAppearsInHTMLAndMarkdownWithValidFigures() throws {
        var input = try fullInput()
        input.textComparison = try Self.decoded()
        let figures = ReportFigures.make(input)
        let imdbFigures = figures.filter { $0.name.hasPrefix("imdb-") }
        #expect(imdbFigures.map(\.name) == TextComparison.figureNames)
        for figure in imdbFigures {
            #expect(throws: Never.self, "\(figure.name) is not well-formed XML") { _ = try parseXML(figure.svg) }
            #expect(figure.svg.contains("LSTM &lt;emb 64, H 128&gt;"))
        }
        #expect(imdbFigures[0].svg.contains("88.00%") && imdbFigures[0].svg.contains("88.61%"))
        #expect(imdbFigures[2].svg.contains("22.0k reviews/s"))

        let html = HTMLPage.render(input, figures: figures)
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
        #expect(throws: Never.self) { _ = try parseXML(body) }
        let section = try #require(html.range(of: "IMDb sentiment: LSTM versus bag-of-words"))
        for name in TextComparison.figureNames {
            let placed = try #require(html.range(of: "id=\"fig-\(name)\""))
            #expect(placed.lowerBound > section.lowerBound, "\(name) outside the IMDb section")
        }
        #expect(!html.contains("More figures"))
        #expect(html.contains("<td class=\"num\">88.00%</td><td class=\"num\">4.93 MiB</td><td class=\"num\">1,333</td><td class=\"num\">6.3 min</td>"))
        #expect(html.contains("2 threads &amp; folded embedding"))

        let markdown = MarkdownSummary.render(input, figures: figures)
        #expect(markdown.contains("## IMDb sentiment: LSTM versus bag-of-words"))
        #expect(markdown.contains("| bag-of-words logistic regression | 88.61% | 78.1 KiB | 22,000 | 1.4 min |"))
        #expect(markdown.contains("| LSTM &lt;emb 64, H 128&gt; | 88.00% |"))
        for name in TextComparison.figureNames { #expect(markdown.contains("(\(name).svg)")) }
    }

    @Test func missingMeasurementsLeaveTheirFigureOutAndDashesInTheTable() throws {
        let comparison = TextComparison(lstm: .init(name: "LSTM", testAccuracy: 0.87),
                                        bagOfWords: .init(name: "BoW", testAccuracy: 0.88, fileBytes: 80_000))
        #expect(comparison.figures.map(\.name) == ["imdb-accuracy", "imdb-size"])
        #expect(comparison.rows[0] == ["LSTM", "87.00%", "—", "—", "—"])
        #expect(comparison.summary == "The LSTM is 1.00 points less accurate than the bag-of-words baseline.")
        let input = ReportInput(title: "t", model: ModelOverview(name: "m.rnnm", fileBytes: 10, parameterCount: 5),
                                datasetName: "MNIST", classNames: [], textComparison: comparison)
        #expect(ReportFigures.make(input).map(\.name) == ["imdb-accuracy", "imdb-size"])
    }
}
