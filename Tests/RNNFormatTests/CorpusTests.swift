import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat
#if canImport(Glibc)
import Glibc
#endif

/// The committed corpus in fixtures/: right classes, and not stale.
@Suite struct CorpusTests {
    static let root: String = {
        // Tests/RNNFormatTests/CorpusTests.swift -> repository root
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/fixtures"
    }()

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    @Test func everyGoodModelInTheCorpusLoads() throws {
        for item in FixtureCorpus.goodModels() {
            let model = try ModelReader.decode(item.bytes)
            #expect(!model.tensors.isEmpty, "\(item.file)")
        }
    }

    @Test func everyCorruptFileFailsWithItsExactClass() {
        let items = FixtureCorpus.corruptFiles()
        #expect(items.count > 100)
        for item in items {
            do {
                _ = try ModelReader.decode(item.bytes)
                Issue.record("\(item.file): loaded, expected \(item.error!)")
            } catch {
                #expect(error.kind.rawValue == item.error, "\(item.file): \(error)")
            }
        }
    }

    @Test func corruptFileNamesAreUnique() {
        let names = FixtureCorpus.corruptFiles().map(\.file) + FixtureCorpus.goodModels().map(\.file)
        #expect(Set(names).count == names.count)
    }

    @Test(arguments: ["models", "corrupt"])
    func committedFixturesAreByteIdenticalToTheGenerator(directory: String) throws {
        let items = directory == "models" ? FixtureCorpus.goodModels() : FixtureCorpus.corruptFiles()
        let dir = "\(Self.root)/\(directory)"
        let manifest = try #require(Self.readFile("\(dir)/manifest.json"), "missing \(dir)/manifest.json: run `swift run rnn-fixtures`")
        #expect(manifest == FixtureCorpus.manifest(items), "\(dir)/manifest.json is stale: run `swift run rnn-fixtures`")
        for item in items {
            let committed = Self.readFile("\(dir)/\(item.file)")
            #expect(committed == item.bytes, "\(dir)/\(item.file) is stale or missing: run `swift run rnn-fixtures`")
        }
    }

    @Test func committedCorruptFilesFailWithTheManifestClassWhenReadFromDisk() throws {
        for item in FixtureCorpus.corruptFiles() {
            #expect(throws: ModelFormatError.self, "\(item.file)") {
                _ = try ModelReader.read(contentsOf: "\(Self.root)/corrupt/\(item.file)")
            }
        }
    }
}
