import Foundation
import Testing
@testable import RNNDatasets

/// IMDb downloads against a local mirror on 127.0.0.1 serving a small synthetic
/// `aclImdb_v1.tar.gz`, whose SHA-256 the tests pass in place of the official one.
@Suite(.serialized) struct IMDbDownloadTests {
    /// A mirror directory holding `aclImdb_v1.tar.gz` made of ``IMDbTests/sample``, and that file's bytes.
    private func mirrorDirectory() throws -> (directory: String, archive: [UInt8]) {
        let directory = try TestSupport.temporaryDirectory()
        let archive = Gzip.compress(IMDbTests.archive(IMDbTests.sample))
        try TestSupport.write(archive, to: directory + "/" + IMDbDownloader.archiveName)
        return (directory, archive)
    }

    private func contents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test func missingArchiveIsDownloadedVerifiedAndLoaded() throws {
        let (served, archive) = try mirrorDirectory()
        let parent = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(served)
            TestSupport.remove(parent)
        }
        let mirror = try LocalMirror(serving: served)
        defer { mirror.stop() }
        let destination = parent + "/data/" + IMDbDownloader.archiveName
        let downloader = IMDbDownloader(expectedSHA256: SHA256.hex(archive),
                                        environment: [DatasetDownloader.mirrorVariable: mirror.baseURL], timeout: 10)
        #expect(downloader.url == mirror.baseURL + IMDbDownloader.archiveName)
        let data = try IMDb.load(from: destination, downloadingWith: downloader)
        #expect(data.train.map(\.id) == [3, 2, 7])
        #expect(data.test == [TextExample(text: "Bad ending — ünïcode.", label: 0, rating: 2, id: 1)])
        #expect(contents(parent + "/data") == [IMDbDownloader.archiveName])
        #expect(try TestSupport.read(destination) == archive)
        // Once present, the archive is read without asking the (now stopped) server again.
        mirror.stop()
        #expect(try IMDb.load(from: destination, downloadingWith: downloader).train == data.train)
    }

    @Test func archiveWithWrongChecksumIsRejectedAndNotCached() throws {
        let (served, archive) = try mirrorDirectory()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(served)
            TestSupport.remove(cache)
        }
        // Corrupt one byte of the served copy; the downloader still expects the original's checksum.
        var corrupt = archive
        corrupt[corrupt.count / 2] ^= 0x20
        try TestSupport.write(corrupt, to: served + "/" + IMDbDownloader.archiveName)
        let mirror = try LocalMirror(serving: served)
        defer { mirror.stop() }
        let downloader = IMDbDownloader(mirror: mirror.baseURL, expectedSHA256: SHA256.hex(archive), timeout: 10)
        // Into a directory that does not exist yet: it must not be left behind either.
        let error = TestSupport.error { () throws(DatasetError) in
            try downloader.download(to: cache + "/new/" + IMDbDownloader.archiveName)
        }
        guard case .download(let url, let detail)? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(url == mirror.baseURL + IMDbDownloader.archiveName)
        #expect(detail.contains("checksum mismatch"))
        #expect(detail.contains(SHA256.hex(archive)) && detail.contains(SHA256.hex(corrupt)))
        #expect(contents(cache).isEmpty)
    }

    @Test func officialChecksumIsDemandedByDefault() throws {
        let (served, _) = try mirrorDirectory()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(served)
            TestSupport.remove(cache)
        }
        let mirror = try LocalMirror(serving: served)
        defer { mirror.stop() }
        let downloader = IMDbDownloader(mirror: mirror.baseURL, timeout: 10)
        #expect(downloader.expectedSHA256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe")
        let error = TestSupport.error { () throws(DatasetError) in
            try IMDb.load(from: cache + "/" + IMDbDownloader.archiveName, downloadingWith: downloader)
        }
        guard case .download(_, let detail)? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("expected " + IMDbDownloader.officialSHA256))
        #expect(contents(cache).isEmpty)
    }

    @Test func interruptedTransferIsRejectedAndNotCached() throws {
        let (served, archive) = try mirrorDirectory()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(served)
            TestSupport.remove(cache)
        }
        let mirror = try LocalMirror(serving: served)
        defer { mirror.stop() }
        // `cut/` announces the full length and closes the connection after half the body.
        let downloader = IMDbDownloader(mirror: mirror.baseURL + "cut/", expectedSHA256: SHA256.hex(archive), timeout: 10)
        let error = TestSupport.error { () throws(DatasetError) in
            try downloader.download(to: cache + "/" + IMDbDownloader.archiveName)
        }
        guard case .download(let url, let detail)? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(url == mirror.baseURL + "cut/" + IMDbDownloader.archiveName)
        #expect(detail.contains("interrupted") || detail.contains("checksum"), "detail: \(detail)")
        #expect(contents(cache).isEmpty)
    }

    @Test func unreachableServerSaysWhereToPutTheArchive() throws {
        let cache = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(cache) }
        let base = "http://127.0.0.1:\(LocalMirror.closedPort())/"
        let destination = cache + "/data/" + IMDbDownloader.archiveName
        let downloader = IMDbDownloader(environment: [DatasetDownloader.mirrorVariable: base], timeout: 10)
        let error = TestSupport.error { () throws(DatasetError) in
            try IMDb.load(from: destination, downloadingWith: downloader)
        }
        guard case .notFoundOffline(let dataset, let directory, let hint)? = error else {
            Issue.record("expected notFoundOffline, got \(String(describing: error))")
            return
        }
        #expect(dataset == "IMDb")
        #expect(directory == cache + "/data")
        #expect(hint.contains(base + IMDbDownloader.archiveName))
        #expect(hint.contains(URL(fileURLWithPath: destination).standardizedFileURL.path))
        #expect(hint.contains(IMDbDownloader.officialSHA256))
        #expect(hint.contains("--data") && hint.contains("RNN_DATASET_MIRROR"))
        #expect(!FileManager.default.fileExists(atPath: cache + "/data"))
    }

    @Test func missingArchiveWithoutDownloaderIsFileNotFound() throws {
        let cache = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(cache) }
        let path = cache + "/" + IMDbDownloader.archiveName
        let error = TestSupport.error { () throws(DatasetError) in try IMDb.load(from: path, downloadingWith: nil) }
        #expect(error == .fileNotFound(path: path))
        #expect(contents(cache).isEmpty)
    }

    @Test func mirrorComesFromArgumentThenEnvironmentThenTheStanfordOrigin() {
        #expect(IMDbDownloader(mirror: "http://a/x", environment: ["RNN_DATASET_MIRROR": "http://b/"]).url
            == "http://a/x/aclImdb_v1.tar.gz")
        #expect(IMDbDownloader(environment: ["RNN_DATASET_MIRROR": "http://b"]).url == "http://b/aclImdb_v1.tar.gz")
        #expect(IMDbDownloader(environment: ["RNN_DATASET_MIRROR": ""]).url
            == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")
        #expect(IMDbDownloader(expectedSHA256: "ABCDEF", environment: [:]).expectedSHA256 == "abcdef")
    }
}
