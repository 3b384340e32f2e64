import Foundation
import Testing
@testable import RNNDatasets

@Suite struct IMDbTests {
    /// A ustar header block for a regular file (`type` "0") or directory ("5"); `sizeField`, when
    /// given, replaces the 12 bytes of the octal size (for GNU base-256 sizes).
    static func header(name: String, size: Int, type: UInt8 = UInt8(ascii: "0"), sizeField: [UInt8]? = nil) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) {
            for (i, byte) in text.utf8.enumerated() { block[offset + i] = byte }
        }
        put(name, at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(String(repeating: "0", count: 11 - String(size, radix: 8).count) + String(size, radix: 8), at: 124)
        put("00000000000", at: 136)
        if let sizeField { block.replaceSubrange(124 ..< 136, with: sizeField) }
        block[156] = type
        put("ustar", at: 257)
        put("00", at: 263)
        put("        ", at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8) + "\0 ", at: 148)
        return block
    }

    /// A tar archive of `(name, content)` regular files.
    static func archive(_ files: [(String, String)]) -> [UInt8] {
        var bytes = [UInt8]()
        for (name, content) in files {
            let data = Array(content.utf8)
            bytes += header(name: name, size: data.count) + data
            bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return bytes + [UInt8](repeating: 0, count: 1024)
    }

    static let sample: [(String, String)] = [
        ("aclImdb/README", "readme"),
        ("aclImdb/train/pos/7_9.txt", "Great film."),
        ("aclImdb/train/neg/3_1.txt", "Dreadful.<br />Avoid."),
        ("aclImdb/train/pos/2_10.txt", String(repeating: "Superb! ", count: 100)),
        ("aclImdb/train/unsup/5_0.txt", "unlabelled"),
        ("aclImdb/test/neg/1_2.txt", "Bad ending — ünïcode."),
    ]

    @Test func sharedArchiveHas25000TrainingAnd25000TestReviews() throws {
        let data = try IMDb.load(from: try TestSupport.sharedIMDb())
        #expect(data.train.count == 25_000)
        #expect(data.test.count == 25_000)
        for split in [data.train, data.test] {
            #expect(split.filter { $0.label == 1 }.count == 12_500)
            // Maas et al.: negative reviews are rated <= 4, positive >= 7.
            #expect(split.allSatisfy { $0.label == 1 ? $0.rating >= 7 : $0.rating <= 4 })
            #expect(split.allSatisfy { !$0.text.isEmpty })
        }
        #expect(data.train.first?.label == 0 && data.train.first?.id == 0)
        #expect(data.classNames == ["negative", "positive"])
    }

    @Test func archiveAndDirectoryGiveTheSameExamples() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        try TestSupport.write(Gzip.compress(Self.archive(Self.sample)), to: directory + "/imdb.tar.gz")
        try TestSupport.write(Self.archive(Self.sample), to: directory + "/imdb.tar")
        for (name, content) in Self.sample {
            let path = directory + "/tree/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try content.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: directory + "/tree/aclImdb/test/pos", withIntermediateDirectories: true)
        let fromGzip = try IMDb.load(from: directory + "/imdb.tar.gz")
        let fromTar = try IMDb.load(from: directory + "/imdb.tar")
        let fromTree = try IMDb.load(from: directory + "/tree")
        let expectedTrain = [
            TextExample(text: "Dreadful.<br />Avoid.", label: 0, rating: 1, id: 3),
            TextExample(text: String(repeating: "Superb! ", count: 100), label: 1, rating: 10, id: 2),
            TextExample(text: "Great film.", label: 1, rating: 9, id: 7),
        ]
        #expect(fromGzip.train == expectedTrain)
        #expect(fromGzip.test == [TextExample(text: "Bad ending — ünïcode.", label: 0, rating: 2, id: 1)])
        #expect(fromTar.train == expectedTrain && fromTree.train == expectedTrain)
        #expect(fromTar.test == fromGzip.test && fromTree.test == fromGzip.test)
    }

    @Test func corruptHeaderChecksumIsRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        var bytes = Self.archive(Self.sample)
        bytes[512 + 512 + 3] ^= 0x01  // a name byte in the second header
        try TestSupport.write(bytes, to: directory + "/bad.tar")
        let error = TestSupport.error { () throws(DatasetError) in try IMDb.load(from: directory + "/bad.tar") }
        guard case .tar(_, let detail)? = error else {
            Issue.record("expected a tar error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("checksum"))
    }

    @Test func truncatedArchiveIsRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let bytes = Self.archive(Self.sample)
        for cut in [bytes.count - 1024, 512 * 3 + 5, 512 * 2 + 100] {
            try TestSupport.write(Gzip.compress(Array(bytes.prefix(cut))), to: directory + "/cut.tar.gz")
            let error = TestSupport.error { () throws(DatasetError) in try IMDb.load(from: directory + "/cut.tar.gz") }
            guard case .tar(_, let detail)? = error else {
                Issue.record("cut at \(cut): expected a tar error, got \(String(describing: error))")
                continue
            }
            #expect(detail.contains("truncated") || detail.contains("cut short"))
        }
    }

    @Test func paxAndGNULongNamesAreHonoured() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        // Python's tarfile writes pax records and GNU long-name members for paths over 100 bytes.
        let long = "aclImdb/" + String(repeating: "d", count: 120) + "/train/pos/4_8.txt"
        let script = """
        import io, sys, tarfile
        for fmt, out in ((tarfile.PAX_FORMAT, "pax.tar"), (tarfile.GNU_FORMAT, "gnu.tar")):
            with tarfile.open(sys.argv[1] + "/" + out, "w", format=fmt) as t:
                data = b"Long path review."
                info = tarfile.TarInfo("\(long)")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        """
        try TestSupport.python(script, directory: directory)
        for name in ["pax.tar", "gnu.tar"] {
            let data = try IMDb.load(from: directory + "/" + name)
            #expect(data.train == [TextExample(text: "Long path review.", label: 1, rating: 8, id: 4)], "\(name)")
        }
    }

    @Test func memberPathsAreClassifiedBySplitFolderAndFileName() {
        #expect(IMDb.classify(path: "aclImdb/test/pos/10_7.txt")! == ("test", 1, 10, 7))
        #expect(IMDb.classify(path: "aclImdb/train/unsup/10_0.txt") == nil)
        #expect(IMDb.classify(path: "aclImdb/train/labeledBow.feat") == nil)
        #expect(IMDb.classify(path: "aclImdb/train/neg/notanumber.txt") == nil)
    }
}
