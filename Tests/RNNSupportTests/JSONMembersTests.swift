import Testing
import RNNSupport

/// The JSON reader behind the run log: whole objects only, numbers bit for bit, strings unescaped.
@Suite struct JSONMembersTests {
    @Test func numbersAndStringsAreKeptOtherValuesChecked() throws {
        let members = try #require(JSONMembers(parsing: #"""
             {"a": -1.5e-3, "b" : "x\"y\\z\n\u00e9\ud83d\ude00", "c": [1, {"d": 2}], "e": {"a": 7}, "f": null, "g": true, "a": 0.1}
            """#))
        #expect(members.number("a") == 0.1)  // the last of repeated names
        #expect(members.string("b") == "x\"y\\z\né😀")
        #expect(members.number("c") == nil && members.number("d") == nil && members.string("e") == nil)
        #expect(members.number("f") == nil && members.number("g") == nil && members.number("missing") == nil)
        #expect(members.string("a") == nil)
    }

    @Test func numbersReadBackBitForBit() throws {
        for value in [0.03927271549135196, 133.25819064699954, 1e-05, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -0.0] {
            let members = try #require(JSONMembers(parsing: "{\"v\":\(value)}"))
            #expect(members.number("v")?.bitPattern == value.bitPattern, "\(value)")
        }
        #expect(JSONMembers(parsing: #"{"v":1e400}"#)?.number("v") == .infinity)
    }

    @Test(arguments: [
        "", "[1]", "\"text\"", "{", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
        "{\"a\":+1}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\u{1}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":1} {}", "{\"a\":[1,]}", "{a:1}", "{\"a\":\"unterminated}",
    ])
    func malformedTextIsRefused(_ text: String) {
        #expect(JSONMembers(parsing: text) == nil)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONMembers(parsing: "{\"a\":\(deep)}") == nil)
        let allowed = String(repeating: "[", count: JSONMembers.maximumDepth - 1) + String(repeating: "]", count: JSONMembers.maximumDepth - 1)
        #expect(JSONMembers(parsing: "{\"a\":\(allowed)}") != nil)
        let over = "[" + allowed + "]"
        #expect(JSONMembers(parsing: "{\"a\":\(over)}") == nil)
    }
}
