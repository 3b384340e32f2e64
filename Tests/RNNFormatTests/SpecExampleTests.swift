import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// The annotated hex dump of spec/FORMAT.md §10 shows the real bytes of tiny-uncompressed.rnnm.
@Test func specHexDumpMatchesTheFixtureItDescribes() throws {
    let specPath = CorpusTests.root.replacingLastComponent(with: "spec/FORMAT.md")
    let spec = String(decoding: try #require(CorpusTests.readFile(specPath)), as: UTF8.self)
    let file = try #require(FixtureCorpus.goodModels().first { $0.file == "tiny-uncompressed.rnnm" }).bytes
    let section = try #require(spec.split(separator: "## 10. Annotated example").last?.split(separator: "## 11.").first)
    var checkedLines = 0
    for line in section.split(separator: "\n") {
        // "000003c0: 00 00 ... 00  annotation"
        guard line.count > 58, line.dropFirst(8).first == ":", let offset = Int(line.prefix(8), radix: 16) else { continue }
        let hexBytes = line.dropFirst(10).prefix(47).split(separator: " ").compactMap { UInt8($0, radix: 16) }
        #expect(hexBytes.count == 16, "line \(line.prefix(8))")
        #expect(Array(file[offset..<(offset + hexBytes.count)]) == hexBytes, "spec §10 line \(line.prefix(8)) is stale")
        checkedLines += 1
    }
    #expect(checkedLines >= 20)
    #expect(spec.contains("(\(file.count.formatted()) bytes"))
}

private extension String {
    /// `/repo/fixtures` -> `/repo/<rest>`.
    func replacingLastComponent(with rest: String) -> String {
        var parts = split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/") + "/" + rest
    }
}

private extension Int {
    /// 2640 -> "2,640".
    func formatted() -> String {
        let digits = Array(String(self))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
