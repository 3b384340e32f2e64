import Foundation
import Testing
@testable import RNNDatasets

/// Downloads against a local mirror on 127.0.0.1 serving a temporary copy of the shared MNIST files.
@Suite(.serialized) struct DownloaderTests {
    /// A temporary mirror directory holding copies of the four shared MNIST `.gz` files.
    private func mirrorCopy() throws -> String {
        let source = try TestSupport.sharedMNIST()
        let directory = try TestSupport.temporaryDirectory()
        for file in ImageDataset.mnist.files {
            try FileManager.default.copyItem(atPath: source + "/" + file.name + ".gz",
                                             toPath: directory + "/" + file.name + ".gz")
        }
        return directory
    }

    private func contents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test func missingDataIsDownloadedVerifiedAndLoaded() throws {
        let mirrorDirectory = try mirrorCopy()
        let parent = try TestSupport.temporaryDirectory()
        let cache = parent + "/nested/mnist"
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(parent)
        }
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let data = try DatasetSplits.load(.mnist, directory: cache,
                                          environment: [DatasetDownloader.mirrorVariable: mirror.baseURL])
        #expect(data.train.images.count == 60_000 && data.test.images.count == 10_000)
        #expect(contents(cache) == ImageDataset.mnist.files.map { $0.name + ".gz" }.sorted())
        // The cached files are byte-identical to the mirror's.
        for file in ImageDataset.mnist.files {
            #expect(try TestSupport.read(cache + "/" + file.name + ".gz")
                == TestSupport.read(mirrorDirectory + "/" + file.name + ".gz"))
        }
    }

    @Test func onlyMissingFilesAreDownloaded() throws {
        let mirrorDirectory = try mirrorCopy()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(cache)
        }
        // Three files already present (one of them raw); the mirror only has the fourth.
        let shared = try TestSupport.sharedMNIST()
        for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
            try FileManager.default.copyItem(atPath: shared + "/" + name + ".gz", toPath: cache + "/" + name + ".gz")
            try FileManager.default.removeItem(atPath: mirrorDirectory + "/" + name + ".gz")
        }
        let labels = try IDX.readLabels(at: shared + "/t10k-labels-idx1-ubyte.gz")
        try IDX.writeLabels(labels, to: cache + "/t10k-labels-idx1-ubyte")
        try FileManager.default.removeItem(atPath: mirrorDirectory + "/t10k-labels-idx1-ubyte.gz")
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let data = try DatasetSplits.load(.mnist, directory: cache,
                                          environment: [DatasetDownloader.mirrorVariable: mirror.baseURL])
        #expect(data.test.labels == labels)
        #expect(contents(cache).contains("t10k-images-idx3-ubyte.gz"))
    }

    @Test func contentWithWrongChecksumIsRejectedAndNotCached() throws {
        let mirrorDirectory = try mirrorCopy()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(cache)
        }
        // A well-formed gzip of a label file with one label changed.
        let path = mirrorDirectory + "/t10k-labels-idx1-ubyte.gz"
        var labels = try IDX.readLabels(at: path)
        labels[0] = (labels[0] + 1) % 10
        try TestSupport.write(Gzip.compress(TestSupport.idxHeader(dimensions: 1, sizes: [10_000]) + labels), to: path)
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let downloader = DatasetDownloader(dataset: .mnist, mirror: mirror.baseURL, timeout: 10)
        let file = ImageDataset.mnist.file(.test, .labels)
        let error = TestSupport.error { () throws(DatasetError) in try downloader.download([file], into: cache) }
        guard case .checksumMismatch(let url, let expected, let found)? = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(url == mirror.baseURL + "t10k-labels-idx1-ubyte.gz")
        #expect(expected == file.sha256)
        #expect(found == SHA256.hex(TestSupport.idxHeader(dimensions: 1, sizes: [10_000]) + labels))
        #expect(contents(cache).isEmpty)
    }

    @Test func corruptGzipIsRejectedAndNotCached() throws {
        let mirrorDirectory = try mirrorCopy()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(cache)
        }
        let path = mirrorDirectory + "/t10k-labels-idx1-ubyte.gz"
        var bytes = try TestSupport.read(path)
        for index in stride(from: 100, to: bytes.count - 100, by: 97) { bytes[index] ^= 0x5A }
        try TestSupport.write(bytes, to: path)
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let downloader = DatasetDownloader(dataset: .mnist, mirror: mirror.baseURL, timeout: 10)
        let error = TestSupport.error { () throws(DatasetError) in
            try downloader.download([ImageDataset.mnist.file(.test, .labels)], into: cache)
        }
        guard case .download(let url, let detail)? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(url.hasSuffix("t10k-labels-idx1-ubyte.gz"))
        #expect(detail.contains("gzip"))
        #expect(contents(cache).isEmpty)
    }

    @Test func interruptedTransferIsRejectedAndNotCached() throws {
        let mirrorDirectory = try mirrorCopy()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(cache)
        }
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let downloader = DatasetDownloader(dataset: .mnist, mirror: mirror.baseURL + "cut/", timeout: 10)
        let error = TestSupport.error { () throws(DatasetError) in
            try downloader.download([ImageDataset.mnist.file(.test, .images)], into: cache)
        }
        guard case .download(let url, let detail)? = error else {
            Issue.record("expected a download error, got \(String(describing: error))")
            return
        }
        #expect(url == mirror.baseURL + "cut/t10k-images-idx3-ubyte.gz")
        #expect(detail.contains("interrupted") || detail.contains("gzip"), "detail: \(detail)")
        #expect(contents(cache).isEmpty)
    }

    @Test func missingFileOnMirrorIsAnHTTPError() throws {
        let mirrorDirectory = try TestSupport.temporaryDirectory()
        let cache = try TestSupport.temporaryDirectory()
        defer {
            TestSupport.remove(mirrorDirectory)
            TestSupport.remove(cache)
        }
        let mirror = try LocalMirror(serving: mirrorDirectory)
        defer { mirror.stop() }
        let downloader = DatasetDownloader(dataset: .mnist, mirror: mirror.baseURL, timeout: 10)
        let error = TestSupport.error { () throws(DatasetError) in
            try downloader.download([ImageDataset.mnist.file(.test, .images)], into: cache)
        }
        #expect(error == .download(url: mirror.baseURL + "t10k-images-idx3-ubyte.gz", detail: "HTTP status 404, expected 200"))
        #expect(contents(cache).isEmpty)
    }

    @Test func unreachableMirrorSaysWhichFilesToPutWhere() throws {
        let cache = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(cache) }
        let base = "http://127.0.0.1:\(LocalMirror.closedPort())/"
        let error = TestSupport.error { () throws(DatasetError) in
            try DatasetSplits.load(.mnist, directory: cache, environment: [DatasetDownloader.mirrorVariable: base])
        }
        guard case .notFoundOffline(let dataset, let directory, let hint)? = error else {
            Issue.record("expected notFoundOffline, got \(String(describing: error))")
            return
        }
        #expect(dataset == "MNIST")
        #expect(directory == cache)
        for file in ImageDataset.mnist.files {
            #expect(hint.contains(file.name + ".gz"))
        }
        #expect(hint.contains(cache))
        #expect(hint.contains("MNIST_DIR"))
        #expect(contents(cache).isEmpty)
    }

    @Test func mirrorComesFromArgumentThenEnvironmentThenDefault() {
        #expect(DatasetDownloader(dataset: .mnist, mirror: "http://a/x", environment: ["RNN_DATASET_MIRROR": "http://b/"]).mirror
            == "http://a/x/")
        #expect(DatasetDownloader(dataset: .mnist, environment: ["RNN_DATASET_MIRROR": "http://b/"]).mirror == "http://b/")
        #expect(DatasetDownloader(dataset: .fashionMNIST, environment: [:]).mirror
            == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
        #expect(DatasetDownloader(dataset: .mnist, environment: [:]).mirror == "https://ossci-datasets.s3.amazonaws.com/mnist/")
    }
}
