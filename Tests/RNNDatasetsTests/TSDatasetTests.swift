import Foundation
import Testing
@testable import RNNDatasets

/// UEA/UCR `.ts` files: the archive's real files from `../shared/datasets/uea/` (counts, lengths,
/// labels, exact first values, and a sum of every value against Python's `float` rounded to
/// float32), then hostile text built here, each refused with its line and its own problem.
@Suite struct TSDatasetTests {
    /// `../shared/datasets/uea/NAME`, or nil (the test then says it skipped) when the shared copy
    /// is absent.
    static func sharedFile(_ name: String) -> String? {
        let path = TestSupport.packageRoot.appendingPathComponent("../shared/datasets/uea/" + name).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            print("TSDatasetTests: skipped: \(path) is absent (see ../shared/datasets/README.md, section uea/)")
            return nil
        }
        return path
    }

    /// The sum of every value in float64, dimension by dimension (checked against Python below).
    static func sum(_ dataset: TSDataset) -> Double {
        dataset.sequences.values.reduce(0) { $0 + $1.reduce(0) { $0 + Double($1) } }
    }

    @Test(arguments: [("JapaneseVowels_TRAIN.ts", 270, 4274, 1.860936 as Float, 0.093011 as Float, -1057.4523011269703),
                      ("JapaneseVowels_TEST.ts", 370, 5687, 1.635533, 0.118123, -2146.5134282175845)])
    func japaneseVowels(file: String, series: Int, steps: Int, first: Float, secondStepLast: Float, sum: Double) throws {
        guard let path = Self.sharedFile(file) else { return }
        let data = try TSDataset.read(at: path)
        #expect(data.problemName == "JapaneseVowels")
        #expect(data.sequences.features == 12 && data.sequences.count == series)
        #expect(data.sequences.lengths.min() == 7 && data.sequences.lengths.max()! <= 29)
        #expect(data.sequences.lengths.reduce(0, +) == steps)
        #expect(zip(data.sequences.values, data.sequences.lengths).allSatisfy { $0.count == $1 * 12 })
        #expect(data.classLabels == (1 ... 9).map(String.init))
        #expect(data.labels.count == series && data.labels.first == "1" && data.labels.last == "9")
        #expect(Set(data.classIndices) == Set(0 ..< 9) && data.classIndices.first == 0)
        #expect(data.targets.isEmpty)
        // Time-major: x[0][0], x[0][1] (dimension 2's first value), x[1][11] (dimension 12's second).
        let x = data.sequences.values[0]
        #expect(x[0] == first && x[24 - 1] == secondStepLast)
        #expect(abs(Self.sum(data) - sum) < 1e-6)
    }

    @Test func japaneseVowelsFirstSeriesIsTimeMajor() throws {
        guard let path = Self.sharedFile("JapaneseVowels_TRAIN.ts") else { return }
        let x = try TSDataset.read(at: path).sequences.values[0]
        #expect(Array(x[0 ..< 3]) == [1.860936, -0.207383, 0.261557])   // step 0, dimensions 1 to 3
        #expect(x[12] == 1.891651 && x[13] == -0.193249)                  // step 1, dimensions 1 and 2
    }

    @Test(arguments: [("BasicMotions_TRAIN.ts", 0.079106 as Float, 0.394032 as Float, 646.184471052984),
                      ("BasicMotions_TEST.ts", -0.740653, 0.756509, -278.3625965348874)])
    func basicMotions(file: String, first: Float, secondDimension: Float, sum: Double) throws {
        guard let path = Self.sharedFile(file) else { return }
        let data = try TSDataset.read(at: path)
        #expect(data.problemName == "BasicMotions")
        #expect(data.sequences.features == 6 && data.sequences.count == 40)
        #expect(data.sequences.lengths == Array(repeating: 100, count: 40))
        #expect(data.classLabels == ["Standing", "Running", "Walking", "Badminton"])
        #expect(data.labels.first == "Standing" && data.labels.last == "Badminton")
        #expect(Set(data.labels) == Set(data.classLabels))
        #expect(data.classIndices.first == 0 && data.classIndices.last == 3)
        #expect(data.sequences.values[0][0] == first && data.sequences.values[0][1] == secondDimension)
        #expect(abs(Self.sum(data) - sum) < 1e-6)
    }

    // MARK: Text built here

    static let header = """
        # a comment
        @problemName Toy
        @timeStamps false
        @missing false
        @univariate false
        @dimensions 2
        @equalLength false
        @classLabel true a b
        @data

        """

    /// The `.ts` problem and line `text` is refused with (a recorded issue when it is another error).
    static func problem(_ text: String) -> (line: Int, problem: TSProblem)? {
        let error = TestSupport.error { () throws(DatasetError) in try TSDataset.parse(Array(text.utf8)) }
        guard case .timeSeries(let path, let line, let problem)? = error else {
            Issue.record("expected a .ts error, got \(String(describing: error))")
            return nil
        }
        #expect(path == "<memory>")
        #expect(!(error?.description.contains("\n") ?? true))
        return (line, problem)
    }

    @Test func smallFileWithCRLFSpacesAndEveryNumberForm() throws {
        let text = Self.header.replacingOccurrences(of: "\n", with: "\r\n")
            + "1, 2.5 ,-3:.5,+1e2,7.:b\r\n\r\n# comment among the series\r\n 0:-0.0 : a \r\n-5.8E-5:1E-50:a"
        let data = try TSDataset.parse(Array(text.utf8))
        #expect(data.problemName == "Toy" && data.sequences.features == 2)
        #expect(data.sequences.lengths == [3, 1, 1])
        #expect(data.sequences.values[0] == [1, 0.5, 2.5, 100, -3, 7])
        #expect(data.sequences.values[1] == [0, -0.0] && data.sequences.values[2] == [-5.8e-5, 0])
        #expect(data.labels == ["b", "a", "a"] && data.classIndices == [1, 0, 0])
    }

    @Test func headerVariants() throws {
        // No label column; regression targets; univariate; equal length checked.
        // Python's whitespace (here a vertical tab and a form feed) is trimmed as sktime's strip() does.
        let unlabelled = try TSDataset.parse(Array("@classLabel\u{C}false\n@data\n1,2:3,4\n5:\u{B}6\n".utf8))
        #expect(unlabelled.labels.isEmpty && unlabelled.classLabels.isEmpty && unlabelled.sequences.lengths == [2, 1])
        let regression = try TSDataset.parse(Array("@targetLabel true\n@dimensions 1\n@data\n1,2:0.25\n3:-1e3\n".utf8))
        #expect(regression.targets == [0.25, -1000] && regression.labels == ["0.25", "-1e3"] && regression.classIndices.isEmpty)
        let equal = try TSDataset.parse(Array("@UNIVARIATE TRUE\n@equalLength true\n@seriesLength 2\n@classLabel true x\n@data\n1,2:x\n".utf8))
        #expect(equal.sequences.features == 1 && equal.sequences.values == [[1, 2]])
        // An empty data section is an empty data set.
        #expect(try TSDataset.parse(Array("@data\n".utf8)).sequences.count == 0)
    }

    @Test func hostileHeaders() {
        #expect(Self.problem("@problemName x\n1,2:a\n")! == (2, .dataBeforeHeader(found: "\"1,2:a\"")))
        #expect(Self.problem("@problemName x\n")! == (0, .missingData))
        #expect(Self.problem("")! == (0, .missingData))
        #expect(Self.problem("@timeStamps true\n@data\n")! == (1, .timeStamps))
        #expect(Self.problem("@dimension 3\n@data\n")! == (1, .unknownHeader(keyword: "dimension")))
        #expect(Self.problem("@dimensions 3\n@Dimensions 3\n")! == (2, .duplicateHeader(keyword: "Dimensions")))
        #expect(Self.problem("@dimensions 0\n")! == (1, .headerValue(keyword: "dimensions", expected: "a positive integer", found: "\"0\"")))
        #expect(Self.problem("@dimensions 99999999999999999999\n")!.problem
            == .headerValue(keyword: "dimensions", expected: "a positive integer", found: "\"99999999999999999999\""))
        #expect(Self.problem("@equalLength maybe\n")! == (1, .headerValue(keyword: "equalLength", expected: "true or false", found: "\"maybe\"")))
        #expect(Self.problem("@classLabel true\n")! == (1, .headerValue(keyword: "classLabel", expected: "the labels after true", found: "nothing")))
        #expect(Self.problem("@classLabel true a b a\n")! == (1, .headerValue(keyword: "classLabel", expected: "distinct labels", found: "\"a\" twice")))
        #expect(Self.problem("@classLabel true a\n@targetLabel true\n@data\n")!.problem
            == .conflictingHeaders(detail: "@classLabel true and @targetLabel true: a file is classification or regression"))
        #expect(Self.problem("@univariate true\n@dimensions 3\n@data\n")! == (3, .conflictingHeaders(detail: "@univariate true and @dimensions 3")))
        #expect(Self.problem("@data\n1:2\n@dimensions 2\n")! == (3, .headerAfterData(keyword: "dimensions")))
        #expect(Self.problem("@data extra\n")! == (1, .headerValue(keyword: "data", expected: "nothing after @data", found: "\"extra\"")))
        let latin1 = Array("@problemName caf".utf8) + [0xE9] + Array("\n@data\n".utf8)
        #expect(TestSupport.error { () throws(DatasetError) in try TSDataset.parse(latin1) } == .timeSeries(path: "<memory>", line: 1, .notUTF8))
    }

    @Test func hostileSeries() {
        let h = Self.header
        let line = 10  // the first line after the header
        // Ragged, wrong dimension count (declared and not), a label where a dimension should be.
        #expect(Self.problem(h + "1,2,3:4,5:a\n")! == (line, .ragged(dimension: 2, length: 2, expected: 3)))
        #expect(Self.problem(h + "1,2:a\n")! == (line, .dimensionCount(expected: 2, found: 1, declared: true)))
        #expect(Self.problem(h + "1:2:3:a\n")! == (line, .dimensionCount(expected: 2, found: 3, declared: true)))
        #expect(Self.problem(h + "1:2\n")! == (line, .dimensionCount(expected: 2, found: 1, declared: true)))
        #expect(Self.problem("@classLabel false\n@data\n1:2\n3\n")! == (4, .dimensionCount(expected: 2, found: 1, declared: false)))
        #expect(Self.problem(h + "1,2\n")! == (line, .dimensionCount(expected: 2, found: 0, declared: true)))
        // Labels.
        #expect(Self.problem(h + "1:2:c\n")! == (line, .unknownLabel(label: "c", classes: 2)))
        #expect(Self.problem(h + "1:2:A\n")! == (line, .unknownLabel(label: "A", classes: 2)))
        #expect(Self.problem(h + "1:2:\n")! == (line, .unknownLabel(label: "", classes: 2)))
        #expect(Self.problem("@targetLabel true\n@data\n1:nan\n")! == (3, .badTarget(found: "\"nan\"")))
        // Values: missing, NaN, infinity, huge, malformed, empty.
        #expect(Self.problem(h + "1,?:2,3:a\n")! == (line, .missingValue(dimension: 1, position: 2)))
        #expect(Self.problem(h + "1,2:3,NaN:a\n")! == (line, .notFinite(dimension: 2, position: 2, found: "\"NaN\"")))
        #expect(Self.problem(h + "-inf:3:a\n")! == (line, .notFinite(dimension: 1, position: 1, found: "\"-inf\"")))
        #expect(Self.problem(h + "1:3.5e38:a\n")! == (line, .overflow(dimension: 2, position: 1, found: "\"3.5e38\"")))
        #expect(Self.problem(h + "1:" + String(repeating: "9", count: 40) + ":a\n")!.problem
            == .overflow(dimension: 2, position: 1, found: "\"" + String(repeating: "9", count: 24) + "\"..."))
        #expect(Self.problem(h + "1,,2:3,4,5:a\n")! == (line, .notANumber(dimension: 1, position: 2, found: "an empty value")))
        #expect(Self.problem(h + "1,2,:3,4,5:a\n")! == (line, .notANumber(dimension: 1, position: 3, found: "an empty value")))
        #expect(Self.problem(h + "1e:2:a\n")! == (line, .notANumber(dimension: 1, position: 1, found: "\"1e\"")))
        #expect(Self.problem(h + "0x10:2:a\n")! == (line, .notANumber(dimension: 1, position: 1, found: "\"0x10\"")))
        #expect(Self.problem(h + "1 2:2:a\n")! == (line, .notANumber(dimension: 1, position: 1, found: "\"1 2\"")))
        #expect(Self.problem(h + ":2:a\n")! == (line, .emptyDimension(dimension: 1)))
        #expect(Self.problem(h + "1: :a\n")! == (line, .emptyDimension(dimension: 2)))
        // Equal length: declared, and as the first series.
        #expect(Self.problem("@equalLength true\n@seriesLength 3\n@data\n1,2\n")! == (4, .seriesLength(expected: 3, found: 2, declared: true)))
        #expect(Self.problem("@equalLength true\n@data\n1,2\n1,2,3\n")! == (4, .seriesLength(expected: 2, found: 3, declared: false)))
    }

    @Test func limitsAreErrors() throws {
        // The longest header line has 20 bytes, the series 22.
        let text = Array((Self.header + "1,2,3,4,5:6,7,8,9,10:a\n").utf8)
        let error = TestSupport.error { () throws(DatasetError) in try TSDataset.parse(text, maximumLineBytes: 20) }
        #expect(error == .timeSeries(path: "<memory>", line: 10, .lineTooLong(bytes: 22, limit: 20)))
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        try TestSupport.write(text, to: directory + "/toy.ts")
        #expect(try TSDataset.read(at: directory + "/toy.ts").sequences.values == [[1, 6, 2, 7, 3, 8, 4, 9, 5, 10]])
        #expect(TestSupport.error { () throws(DatasetError) in try TSDataset.read(at: directory + "/toy.ts", maximumFileBytes: 100) }
            == .timeSeries(path: directory + "/toy.ts", line: 0, .fileTooLarge(bytes: text.count, limit: 100)))
        // A stream (gzip) has no length up front: it is cut one byte past the cap.
        try TestSupport.write(Gzip.compress(text), to: directory + "/toy.ts.gz")
        #expect(TestSupport.error { () throws(DatasetError) in try TSDataset.read(at: directory + "/toy.ts.gz", maximumFileBytes: 100) }
            == .timeSeries(path: directory + "/toy.ts.gz", line: 0, .fileTooLarge(bytes: 101, limit: 100)))
        #expect(TestSupport.error { () throws(DatasetError) in try TSDataset.read(at: directory + "/missing.ts") }
            == .fileNotFound(path: directory + "/missing.ts"))
    }

    @Test func manyLabelsAndSeriesTakeLinearTime() throws {
        // 100,000 labels and as many series: a duplicate check or label lookup that scanned the list
        // would make 1e10 label comparisons (minutes in a debug build); with sets this takes about a
        // second in a debug build, a few under load. The bound is far from both.
        let labels = (0 ..< 100_000).map { "c\($0)" }
        let text = "@classLabel true " + labels.joined(separator: " ") + "\n@data\n"
            + labels.reversed().map { "1:" + $0 }.joined(separator: "\n")
        let start = ContinuousClock.now
        let data = try TSDataset.parse(Array(text.utf8))
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(data.sequences.count == 100_000 && data.classIndices.first == 99_999 && data.classIndices.last == 0)
        #expect(Self.problem("@classLabel true " + labels.joined(separator: " ") + " c7\n")!
            == (1, .headerValue(keyword: "classLabel", expected: "distinct labels", found: "\"c7\" twice")))
    }

    @Test func messagesNameLineDimensionAndPosition() {
        let error = TestSupport.error { () throws(DatasetError) in try TSDataset.parse(Array((Self.header + "1,2,3:4,5:a\n").utf8), path: "x.ts") }
        #expect(error?.description == "x.ts:10: .ts: dimension 2 has 2 values, dimension 1 has 3: "
            + "every dimension of a series must have the same length")
        let missing = TestSupport.error { () throws(DatasetError) in try TSDataset.parse(Array((Self.header + "1,?:2,3:a\n").utf8), path: "x.ts") }
        #expect(missing?.description == "x.ts:10: .ts: dimension 1, value 2 is '?', a missing value: "
            + "missing values are not supported, fill them in (impute) first")
    }
}
