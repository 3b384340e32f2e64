import Foundation
import Testing
@testable import RNNDatasets

/// Lines of a feature stream: `reset`, a JSON array of numbers, or blank; everything else refused
/// with its column and what was expected.
@Suite struct StreamLineTests {
    static func parse(_ line: String, features: Int? = nil) -> Result<StreamLine, StreamLineError> {
        do throws(StreamLineError) { return .success(try StreamLine.parse(line, features: features)) } catch { return .failure(error) }
    }

    @Test func stepsResetsAndBlankLines() throws {
        #expect(Self.parse("[0.5, -1, 2e-3]") == .success(.step([0.5, -1, 0.002])))
        #expect(Self.parse("  [ 1 ,2\t,3 ]  \r\n") == .success(.step([1, 2, 3])))
        #expect(Self.parse("[-0, 0.0, 1E+2, 1e-2, 123456789]") == .success(.step([0, 0, 100, 0.01, 123456789])))
        #expect(Self.parse("[-0]") == .success(.step([-0.0])))
        #expect(Self.parse("reset") == .success(.reset))
        #expect(Self.parse(" \treset \r\n") == .success(.reset))
        #expect(Self.parse("") == .success(.empty))
        #expect(Self.parse(" \t\r\n") == .success(.empty))
        #expect(try StreamLine.parse("x[1]x".dropFirst().dropLast(), features: 1) == .step([1]))
        #expect(try StreamLine.parse(Array("[7,8]\n".utf8), features: 2) == .step([7, 8]))
    }

    @Test func numbersRoundOnceFromTheirText() {
        // 16777217 is halfway between two floats: round to even (16777216), straight from the text.
        #expect(Self.parse("[16777217, 3.4028235e38, 1e-46, 1.4e-45]") == .success(.step([16777216, .greatestFiniteMagnitude, 0, 1.4e-45])))
        // Just beyond float's largest value but within half a unit: still the largest value.
        #expect(Self.parse("[3.40282356e38]") == .success(.step([.greatestFiniteMagnitude])))
        #expect(Self.parse("[1, 3.5e38]") == .failure(.overflow(feature: 2, text: "\"3.5e38\"")))
        #expect(Self.parse("[-1e39]") == .failure(.overflow(feature: 1, text: "\"-1e39\"")))
    }

    @Test func featureCountIsChecked() {
        let error = Self.parse("[" + Array(repeating: "1", count: 11).joined(separator: ",") + "]", features: 12)
        #expect(error == .failure(.featureCount(expected: 12, found: 11)))
        if case .failure(let failure) = error { #expect(failure.description == "expected 12 features, found 11") }
        #expect(Self.parse("[1, 2, 3]", features: 2) == .failure(.featureCount(expected: 2, found: 3)))
        #expect(Self.parse("reset", features: 2) == .success(.reset))
        #expect(Self.parse("", features: 2) == .success(.empty))
    }

    @Test func strictJSONOnly() {
        func syntax(_ line: String) -> (column: Int, expected: String)? {
            guard case .failure(.syntax(let column, let expected, _)) = Self.parse(line) else {
                Issue.record("\(line.debugDescription): \(Self.parse(line))")
                return nil
            }
            return (column, expected)
        }
        #expect(syntax("[1, 2,]")! == (7, "a number after ','"))
        #expect(syntax("[1 2]")! == (4, "',' or ']'"))
        #expect(syntax("[1, 2")! == (6, "',' or ']'"))
        #expect(syntax("[+1]")! == (2, "a number or ']'"))
        #expect(syntax("[01]")! == (2, "a number or ']'"))
        #expect(syntax("[.5]")! == (2, "a number or ']'"))
        #expect(syntax("[1.]")! == (2, "a number or ']'"))
        #expect(syntax("[1e]")! == (2, "a number or ']'"))
        #expect(syntax("[0x10]")! == (3, "',' or ']'"))
        #expect(syntax("[\"1\"]")! == (2, "a number or ']'"))
        #expect(syntax("[[1]]")! == (2, "a number or ']'"))
        #expect(syntax("[1] x")! == (5, "the end of the line after ']'"))
        #expect(syntax("[1]]")! == (4, "the end of the line after ']'"))
        #expect(syntax("resetting")! == (6, "the end of the line after reset"))
        #expect(syntax("RESET")! == (1, "'reset' or '['"))
        #expect(syntax("{\"x\": [1]}")! == (1, "'reset' or '['"))
        #expect(syntax("1, 2")! == (1, "'reset' or '['"))
        #expect(Self.parse("[]") == .failure(.emptyStep))
        #expect(Self.parse(" [ ] ") == .failure(.emptyStep))
        #expect(Self.parse("[NaN]") == .failure(.notFinite(feature: 1, found: "\"NaN\"")))
        #expect(Self.parse("[1, -Infinity]") == .failure(.notFinite(feature: 2, found: "\"-Infinity\"")))
        #expect(Self.parse("[1, inf]") == .failure(.notFinite(feature: 2, found: "\"inf\"")))
        // The found text is escaped: a control character or invalid UTF-8 cannot reach a terminal raw.
        guard case .failure(let error) = Self.parse("[\u{1B}[31m]") else { Issue.record("escape accepted"); return }
        #expect(error.description == "column 2: expected a number or ']', found \"\\u001b[31m]\"; "
            + "a line is 'reset' or a JSON array of numbers such as [0.5, -1, 2e-3]")
        #expect(throws: StreamLineError.self) { try StreamLine.parse([0x5B, 0xFF, 0x5D]) }
    }

    @Test func longLinesAreRefusedBeforeTheyAreScanned() {
        let long = [UInt8](repeating: 0x20, count: StreamLine.maximumLineBytes + 1)
        #expect(throws: StreamLineError.lineTooLong(bytes: StreamLine.maximumLineBytes + 1, limit: 1 << 20)) {
            try StreamLine.parse(long)
        }
        // Just at the limit: half a million features parse.
        var line = Array("[".utf8) + Array(repeating: Array("1,".utf8), count: (StreamLine.maximumLineBytes - 2) / 2).joined()
        line[line.count - 1] = UInt8(ascii: "]")
        #expect(line.count <= StreamLine.maximumLineBytes)
        guard case .step(let values) = try? StreamLine.parse(line) else { Issue.record("a line at the limit"); return }
        #expect(values.count == (StreamLine.maximumLineBytes - 2) / 2 && values.allSatisfy { $0 == 1 })
    }
}
