import Foundation
import Testing
@testable import RNNDatasets

@Suite struct MNISTLoadTests {
    @Test func sharedMNISTLoadsWithPublishedChecksumsAndCounts() throws {
        let directory = try TestSupport.sharedMNIST()
        let data = try DatasetSplits.load(.mnist, directory: directory, environment: [:], allowDownload: false)
        #expect(data.train.images.count == 60_000)
        #expect(data.test.images.count == 10_000)
        #expect(data.train.labels.count == 60_000)
        #expect(data.test.labels.count == 10_000)
        #expect(data.train.images.height == 28 && data.train.images.width == 28)
        #expect(data.test.images.height == 28 && data.test.images.width == 28)
        #expect(data.train.labels.allSatisfy { $0 <= 9 })
        #expect(data.test.labels.allSatisfy { $0 <= 9 })
        // Every digit occurs; the first training labels of MNIST are 5, 0, 4, 1, 9.
        #expect(Set(data.train.labels).count == 10)
        #expect(Array(data.train.labels.prefix(5)) == [5, 0, 4, 1, 9])
        for file in ImageDataset.mnist.files {
            #expect(data.sha256[file.name] == file.sha256)
        }
        #expect(data.classNames == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
        #expect(data.directory == directory)
    }

    @Test func streamingReaderBatchesEqualWholeFileRead() throws {
        let path = try TestSupport.sharedMNIST() + "/t10k-images-idx3-ubyte.gz"
        let whole = try IDX.readImages(at: path)
        let reader = try IDXImageReader(path: path)
        #expect(reader.count == 10_000 && reader.height == 28 && reader.width == 28)
        var pixels = [UInt8]()
        var batches = 0
        while let batch = try reader.nextBatch(maxImages: 3000) {
            #expect(batch.count == (batches < 3 ? 3000 : 1000))
            pixels += batch.pixels
            batches += 1
        }
        #expect(batches == 4)
        #expect(pixels == whole.pixels)
        #expect(try reader.nextBatch(maxImages: 1) == nil)
    }

    @Test func streamingReaderReadsStandardInput() throws {
        let path = try TestSupport.sharedMNIST() + "/t10k-images-idx3-ubyte.gz"
        let whole = try IDX.readImages(at: path)
        let compressed = try TestSupport.read(path)
        let pixels = try StandardInput.feeding(compressed) { () throws -> [UInt8] in
            try IDXImageReader(path: "-").allPixels(batch: 777)
        }
        #expect(pixels == whole.pixels)
    }

    @Test func streamingReaderReportsTruncationInsteadOfAShortBatch() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let images = try TestSupport.sampleImages(count: 10, height: 28, width: 28)
        try IDX.writeImages(images, to: directory + "/raw")
        let full = try TestSupport.read(directory + "/raw")
        // Gzip hides the real length from the reader until the data runs out.
        try TestSupport.write(Gzip.compress(Array(full.dropLast(100))), to: directory + "/short.gz")
        let reader = try IDXImageReader(path: directory + "/short.gz")
        let first = try reader.nextBatch(maxImages: 9)
        #expect(first?.count == 9)
        let error = TestSupport.error { () throws(DatasetError) in try reader.nextBatch(maxImages: 9) }
        #expect(error == .truncated(path: directory + "/short.gz", expectedBytes: 16 + 7840, foundBytes: 16 + 7840 - 100))
    }

    @Test func streamingReaderRejectsZeroBatchSize() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        try IDX.writeImages(try TestSupport.sampleImages(count: 2), to: directory + "/raw")
        let reader = try IDXImageReader(path: directory + "/raw")
        guard case .invalidArgument? = TestSupport.error({ () throws(DatasetError) in try reader.nextBatch(maxImages: 0) }) else {
            Issue.record("expected invalidArgument")
            return
        }
    }

    @Test func locatorPrefersArgumentThenEnvironmentThenDefault() {
        let environment = ["MNIST_DIR": "/env/mnist", "FASHION_MNIST_DIR": ""]
        let explicit = DatasetLocator(dataset: .mnist, directory: "/arg", environment: environment)
        #expect(explicit.directory == "/arg" && explicit.origin == .argument)
        let fromEnvironment = DatasetLocator(dataset: .mnist, environment: environment)
        #expect(fromEnvironment.directory == "/env/mnist" && fromEnvironment.origin == .environment("MNIST_DIR"))
        let fallback = DatasetLocator(dataset: .fashionMNIST, environment: environment)
        #expect(fallback.directory == "/usr/share/datasets/fashion-mnist" && fallback.origin == .defaultDirectory)
        #expect(DatasetLocator(dataset: .mnist, environment: [:]).directory == "./data/mnist")
    }

    @Test func locatorFindsRawOrCompressedFilesAndListsMissingOnes() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        try TestSupport.write([0], to: directory + "/train-images-idx3-ubyte")
        try TestSupport.write([0], to: directory + "/train-labels-idx1-ubyte.gz")
        let locator = DatasetLocator(dataset: .mnist, directory: directory)
        #expect(locator.path(of: ImageDataset.mnist.file(.train, .images)) == directory + "/train-images-idx3-ubyte")
        #expect(locator.path(of: ImageDataset.mnist.file(.train, .labels)) == directory + "/train-labels-idx1-ubyte.gz")
        #expect(locator.missingFiles().map(\.name) == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
        let error = TestSupport.error { () throws(DatasetError) in
            try DatasetSplits.load(.mnist, directory: directory, environment: [:], allowDownload: false)
        }
        #expect(error == .missingFiles(dataset: "MNIST", directory: directory,
                                       files: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]))
    }

    @Test func checksumMismatchAndBadLabelsAreReported() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let train = try TestSupport.sampleImages(count: 3, height: 28, width: 28)
        try IDX.writeImages(train, to: directory + "/train-images-idx3-ubyte")
        try IDX.writeLabels([1, 2, 3], to: directory + "/train-labels-idx1-ubyte")
        try IDX.writeImages(train.subset(0 ..< 2), to: directory + "/t10k-images-idx3-ubyte")
        try IDX.writeLabels([4, 12], to: directory + "/t10k-labels-idx1-ubyte")
        let error = TestSupport.error { () throws(DatasetError) in
            try DatasetSplits.load(.mnist, directory: directory, environment: [:], allowDownload: false)
        }
        guard case .checksumMismatch(let file, let expected, _)? = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(file == directory + "/train-images-idx3-ubyte")
        #expect(expected == ImageDataset.mnist.file(.train, .images).sha256)
        // With verification off (own data in MNIST layout), the label range is still checked.
        let unverified = TestSupport.error { () throws(DatasetError) in
            try DatasetSplits.load(.mnist, directory: directory, environment: [:], allowDownload: false, verifyChecksums: false)
        }
        #expect(unverified == .labelOutOfRange(index: 1, value: 12, classes: 10))
    }

    @Test func errorDescriptionsAreSingleLinesNamingExpectedAndFound() {
        let errors: [DatasetError] = [
            .truncated(path: "f", expectedBytes: 10, foundBytes: 3),
            .countMismatch(images: 5, labels: 4),
            .checksumMismatch(file: "f", expected: "aa", found: "bb"),
            .labelOutOfRange(index: 1, value: 12, classes: 10),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
        }
        #expect(errors[0].description.contains("expected 10") && errors[0].description.contains("found only 3"))
        #expect(errors[2].description.contains("aa") && errors[2].description.contains("bb"))
    }
}

/// Temporarily replaces the process's standard input with a pipe fed from a background thread.
enum StandardInput {
    static func feeding<T>(_ bytes: [UInt8], _ body: () throws -> T) throws -> T {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let saved = dup(0)
        try #require(saved >= 0)
        dup2(fds[0], 0)
        close(fds[0])
        let writer = fds[1]
        let thread = Thread {
            var offset = 0
            bytes.withUnsafeBytes { raw in
                while offset < raw.count {
                    let n = write(writer, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(writer)
        }
        thread.start()
        defer {
            dup2(saved, 0)
            close(saved)
        }
        return try body()
    }
}

/// Fashion-MNIST comes from Debian's `dataset-fashion-mnist` package (not ../shared/datasets);
/// `make deps` and .ci/run install it, so a missing package fails here instead of skipping.
@Suite struct FashionMNISTTests {
    @Test func debianFashionMNISTLoadsWithRecordedChecksums() throws {
        let data = try DatasetSplits.load(.fashionMNIST, environment: [:], allowDownload: false)
        #expect(data.train.count == 60_000 && data.test.count == 10_000)
        #expect(data.train.images.height == 28 && data.train.images.width == 28)
        #expect(data.classNames[9] == "Ankle boot")
        for file in ImageDataset.fashionMNIST.files {
            #expect(data.sha256[file.name] == file.sha256)
        }
    }
}
