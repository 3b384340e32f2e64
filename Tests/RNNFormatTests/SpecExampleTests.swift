import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// The annotated hex dumps of spec/FORMAT.md §10 show the real bytes of the fixtures they name:
/// tiny-uncompressed.rnnm (format 1.0), in §10.1 gru-uncompressed.rnnm (format 1.2) and in §10.2
/// pool-uncompressed.rnnm (format 1.3).
@Test func specHexDumpsMatchTheFixturesTheyDescribe() throws {
    let specPath = CorpusTests.root.replacingLastComponent(with: "spec/FORMAT.md")
    let spec = String(decoding: try #require(CorpusTests.readFile(specPath)), as: UTF8.self)
    let section = try #require(spec.split(separator: "## 10. Annotated example").last?.split(separator: "## 11.").first)
    // Text and code blocks alternate; each dump shows the last fixture its preceding text names.
    let pieces = section.components(separatedBy: "```")
    var dumps: [String: Int] = [:]
    for index in stride(from: 1, to: pieces.count, by: 2) {
        let prose = pieces[index - 1]
        let name = try #require(prose.ranges(of: "fixtures/models/").last.flatMap { range in
            prose[range.upperBound...].prefix { $0 != "`" }
        }, "no fixture named before dump \(index / 2 + 1)")
        let file = try #require(FixtureCorpus.goodModels().first { $0.file == name }, "\(name) is not a fixture").bytes
        #expect(prose.contains("(\(file.count.formatted()) bytes"), "\(name): the text gives its size")
        var checkedLines = 0
        for line in pieces[index].split(separator: "\n") {
            // "000003c0: 00 00 ... 00  annotation"
            guard line.count > 58, line.dropFirst(8).first == ":", let offset = Int(line.prefix(8), radix: 16) else { continue }
            let hexBytes = line.dropFirst(10).prefix(47).split(separator: " ").compactMap { UInt8($0, radix: 16) }
            #expect(hexBytes.count == 16, "\(name) line \(line.prefix(8))")
            #expect(offset + hexBytes.count <= file.count && Array(file[offset..<(offset + hexBytes.count)]) == hexBytes,
                    "spec §10 dump of \(name), line \(line.prefix(8)) is stale")
            checkedLines += 1
        }
        dumps[String(name)] = checkedLines
    }
    #expect(dumps["tiny-uncompressed.rnnm", default: 0] >= 20)
    #expect(dumps["gru-uncompressed.rnnm", default: 0] >= 20)
    // The 1.2 dump's header says 1.2 (format_minor and min_reader_minor at offsets 10 and 14).
    let gru = try #require(FixtureCorpus.goodModels().first { $0.file == "gru-uncompressed.rnnm" }).bytes
    #expect(gru.u16(at: 10) == 2 && gru.u16(at: 14) == 2)
    #expect(dumps["pool-uncompressed.rnnm", default: 0] >= 20)
    let pool = try #require(FixtureCorpus.goodModels().first { $0.file == "pool-uncompressed.rnnm" }).bytes
    #expect(pool.u16(at: 10) == 3 && pool.u16(at: 14) == 3)
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
