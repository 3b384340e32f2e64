import Testing
@testable import RNNFormat

@Suite struct CanonicalJSONTests {
    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (0.5, "0.5"), (100.0, "100"), (-3.0, "-3"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (0.000001, "0.000001"),
        (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (0.1, "0.1"),
        (Double(Float(1.0 / 255)), "0.003921568859368563"), (2.5e300, "2.5e+300"), (-1.25e-9, "-1.25e-9"),
    ])
    func numbersAreWrittenAsECMAScriptDoes(value: Double, text: String) {
        #expect(CanonicalJSON.ecmaScriptString(value) == text)
        #expect(Double(text) == value || (value == 0 && Double(text) == 0))
    }

    @Test func stringsEscapeOnlyQuotesBackslashesAndControls() {
        var out: [UInt8] = []
        CanonicalJSON.writeString("a\"b\\c\n\t\u{1}\u{8}\u{C}\r\u{1F}/é\u{7F}", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "\"a\\\"b\\\\c\\n\\t\\u0001\\b\\f\\r\\u001f/é\u{7F}\"")
    }

    @Test func membersAreSortedByTheirUTF8Bytes() {
        let value = JSONValue.object([("b", .number("1")), ("é", .number("2")), ("aa", .number("3")), ("B", .number("4")), ("a", .number("5"))])
        #expect(String(decoding: CanonicalJSON.encode(value), as: UTF8.self) == "{\"B\":4,\"a\":5,\"aa\":3,\"b\":1,\"é\":2}")
    }

    @Test func metadataOfTheTinyModelHasItsFrozenCanonicalForm() throws {
        var m = TestModels.tiny().metadata
        m.provenance = Provenance(producer: "tests", seed: 7, metrics: ["test_accuracy": 0.5])
        let text = String(decoding: try MetadataEncoding.bytes(m), as: UTF8.self)
        #expect(text == """
        {"format":"rnnm","input":{"height":5,"kind":"image_rows","offset":0,"scale":0.003921568859368563,"source_dtype":"u8","width":6},\
        "labels":["a","b","c"],"model":{"layers":[{"b_hh":"lstm0.b_hh","b_ih":"lstm0.b_ih","gate_order":"ifgo","hidden_size":4,\
        "input_size":6,"name":"lstm0","return":"last","type":"lstm","w_hh":"lstm0.w_hh","w_ih":"lstm0.w_ih"},\
        {"activation":"none","bias":"out.bias","in":4,"name":"out","out":3,"type":"dense","weight":"out.weight"}],"output":"logits"},\
        "provenance":{"metrics":{"test_accuracy":0.5},"producer":"tests","seed":7}}
        """)
    }

    @Test func depthIsMeasuredOutsideStringsOnly() throws {
        let bracketsInString = "{\"a\":\"" + String(repeating: "[", count: 100) + "\\\"[\"}"
        #expect(JSONParser.nestingDepth(Array(bracketsInString.utf8)).max == 1)
        let depth32 = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        #expect(throws: Never.self) { _ = try JSONParser.parse(Array("{\"a\":\(depth32)}".utf8)) }
        let depth33 = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(errorKind { _ = try JSONParser.parse(Array("{\"a\":\(depth33)}".utf8)) } == .limitExceeded)
        // Depth is checked before syntax: an unclosed 40-deep text is limit_exceeded, not malformed.
        #expect(errorKind { _ = try JSONParser.parse(Array(String(repeating: "[", count: 40).utf8)) } == .limitExceeded)
    }

    @Test(arguments: ["{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":NaN}", "{\"a\":\"\\ud800\"}", "{'a':1}",
                      "{\"a\":1}x", "{\"a\":\"tab\there\"}", "{\"a\":1,\"a\":2}", "", "{\"a\":-}", "{\"a\":tru}",
                      "{\"a\":1e400}", "{\"a\":-1e309}", "{\"a\":\(String(repeating: "9", count: 310))}"])
    func strictParserRefuses(text: String) {
        #expect(errorKind { _ = try JSONParser.parse(Array(text.utf8)) } == .malformed)
    }

    @Test func parserAcceptsEscapesAndSurrogatePairs() throws {
        let v = try JSONParser.parse(Array("{\"s\":\"\\u00e9\\ud83d\\ude00\\/\\n\",\"n\":-1.5e+3,\"z\":[true,false,null]}".utf8))
        #expect(v["s"] == .string("é😀/\n"))
        #expect(v["n"] == .number("-1.5e+3"))
        #expect(v["z"] == .array([.bool(true), .bool(false), .null]))
    }
}
