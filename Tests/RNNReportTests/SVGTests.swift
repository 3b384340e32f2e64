import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RNNReport

@Suite struct SVGTests {
    @Test func escapingReplacesAllFiveSpecialCharacters() {
        #expect(XML.escaped("T-shirt/top") == "T-shirt/top")
        #expect(XML.escaped("<&>\"'") == "&lt;&amp;&gt;&quot;&#39;")
        #expect(XML.escaped("a\u{1}b") == "a\u{FFFD}b")
    }

    @Test func digitGridIsValidXMLWithEscapedTitles() throws {
        let grid = DigitGrid.samples([(tinyImage(), 0), (tinyImage(), 1), (tinyImage(), 2)], classNames: ["T-shirt/top", "<&>", "Bag"])
        let svg = grid.svg()
        let document = try parseXML(svg)
        #expect(document.rootElement()?.name == "svg")
        #expect(document.rootElement()?.attributes?.contains { $0.name == "viewBox" && ($0.stringValue ?? "").hasPrefix("0 0 ") } == true)
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("T-shirt/top"))
        #expect(texts.contains("<&>"))
        #expect(!svg.contains("<&>"))
    }

    @Test func digitGridDrawsInkedPixelsOnly() throws {
        let svg = DigitGrid(title: "one", cells: [.init(image: tinyImage(), title: "x")], grayLevels: 256).svg()
        let paths = try parseXML(svg).nodes(forXPath: "//*[local-name()='path']")
        // Two distinct ink levels (90 and 200): one path each; blank pixels draw nothing.
        #expect(paths.count == 2)
    }

    @Test func misclassifiedGridIsSortedByConfidenceAndTitledTrueAndPredicted() throws {
        let mistakes = [
            Misclassification(index: 7, truth: 5, predicted: 3, probability: 0.61, image: tinyImage()),
            Misclassification(index: 2, truth: 4, predicted: 9, probability: 0.97, image: tinyImage()),
            Misclassification(index: 5, truth: 1, predicted: 7, probability: 0.75, image: tinyImage()),
        ]
        let grid = DigitGrid.misclassified(mistakes, classNames: (0..<10).map(String.init), limit: 2)
        #expect(grid.cells.map(\.title) == ["t:4 p:9 (0.97)", "t:1 p:7 (0.75)"])
        let texts = try parseXML(grid.svg()).nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("t:4 p:9 (0.97)"))
        #expect(texts.first?.contains("2 of 3") == true)
    }

    @Test func digitImageRejectsWrongPixelCount() {
        #expect(DigitImage(width: 28, height: 28, pixels: [0, 1]) == nil)
        #expect(DigitImage(width: 0, height: 0, pixels: []) == nil)
    }

    @Test func lineChartHasOneLinePerSeriesAndALegend() throws {
        let chart = LineChart(title: "Accuracy & loss", xLabel: "Epoch", yLabel: "Accuracy", series: [
            .init(name: "training <train>", points: [.init(x: 1, y: 0.9), .init(x: 2, y: 0.95), .init(x: 3, y: 0.97)], colorIndex: 0),
            .init(name: "validation", points: [.init(x: 1, y: 0.92), .init(x: 2, y: 0.94), .init(x: 3, y: 0.96)], colorIndex: 1, dashed: true),
        ], percentAxis: true)
        let document = try parseXML(chart.svg())
        #expect(try document.nodes(forXPath: "//*[local-name()='polyline']").count == 2)
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("training <train>"))
        #expect(texts.contains("validation"))
        #expect(texts.contains { $0.hasSuffix("%") })
        #expect(texts.contains("2"))
    }

    @Test func chartsWithoutDataStillRenderValidXML() throws {
        _ = try parseXML(LineChart(title: "empty", xLabel: "x", yLabel: "y", series: []).svg())
        _ = try parseXML(BarChart(title: "empty", unit: "u", bars: []).svg())
        _ = try parseXML(DigitGrid(title: "empty", cells: []).svg())
    }

    @Test func confusionChartPrintsEveryNonZeroCount() throws {
        let matrix = try ConfusionMatrix(truth: [0, 0, 1, 1, 1], predicted: [0, 1, 1, 1, 1], classCount: 2)
        let svg = ConfusionMatrixChart(matrix: matrix, classNames: ["T-shirt/top", "<&>"]).svg()
        let texts = try parseXML(svg).nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("1"))
        #expect(texts.contains("3"))
        #expect(!texts.contains("0"))
        #expect(texts.contains("<&>"))
    }

    @Test func barChartLabelsEveryBarWithItsValue() throws {
        let chart = BarChart(title: "Sizes", unit: "bytes", bars: [
            .init(label: "f32", value: 290_000, valueText: "283.2 KiB"), .init(label: "int8", value: 75_000, valueText: "73.2 KiB"),
        ])
        let document = try parseXML(chart.svg())
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("283.2 KiB"))
        #expect(texts.contains("int8"))
        let logChart = BarChart(title: "Speed", unit: "img/s", bars: [.init(label: "b1", value: 900), .init(label: "b10k", value: 90_000)],
                                logarithmic: true)
        _ = try parseXML(logChart.svg())
    }
}
