import Foundation
import Testing
@testable import RNNDatasets

@Suite struct IDXTests {
    @Test func writtenImagesReadBackIdentically() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let images = try TestSupport.sampleImages(count: 5)
        let path = directory + "/images-idx3-ubyte"
        try IDX.writeImages(images, to: path)
        #expect(try IDX.readImages(at: path) == images)
        let bytes = try TestSupport.read(path)
        #expect(Array(bytes.prefix(16)) == TestSupport.idxHeader(dimensions: 3, sizes: [5, 4, 3]))
        #expect(bytes.count == 16 + 60)
        // The atomic write leaves no temporary file behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["images-idx3-ubyte"])
    }

    @Test func writtenLabelsReadBackIdentically() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let labels: [UInt8] = [3, 1, 4, 1, 5, 9, 2, 6]
        try IDX.writeLabels(labels, to: directory + "/labels")
        #expect(try IDX.readLabels(at: directory + "/labels") == labels)
        #expect(try TestSupport.read(directory + "/labels").prefix(8) == [0, 0, 8, 1, 0, 0, 0, 8])
    }

    @Test func gzipIsDetectedByMagicNotByName() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let images = try TestSupport.sampleImages(count: 7)
        try IDX.writeImages(images, to: directory + "/raw")
        let compressed = Gzip.compress(try TestSupport.read(directory + "/raw"))
        #expect(compressed.starts(with: [0x1F, 0x8B]))
        // Compressed content under a name without .gz, raw content under a name with .gz.
        try TestSupport.write(compressed, to: directory + "/compressed-idx3-ubyte")
        try TestSupport.write(try TestSupport.read(directory + "/raw"), to: directory + "/raw-idx3-ubyte.gz")
        #expect(try IDX.readImages(at: directory + "/compressed-idx3-ubyte") == images)
        #expect(try IDX.readImages(at: directory + "/raw-idx3-ubyte.gz") == images)
    }

    @Test func concatenatedGzipMembersReadAsOneStream() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let labels: [UInt8] = Array(repeating: 7, count: 100)
        let file = TestSupport.idxHeader(dimensions: 1, sizes: [100]) + labels
        try TestSupport.write(Gzip.compress(Array(file[..<50])) + Gzip.compress(Array(file[50...])),
                              to: directory + "/labels.gz")
        #expect(try IDX.readLabels(at: directory + "/labels.gz") == labels)
    }

    @Test func wrongMagicIsRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        try TestSupport.write([0x89, 0x50, 0x4E, 0x47] + Array(repeating: 0, count: 40), to: directory + "/png")
        let error = TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: directory + "/png") }
        #expect(error == .badMagic(path: directory + "/png", expected: 0x803, found: 0x8950_4E47))
        #expect(error?.description.contains("expected 0x00000803, found 0x89504e47") == true)
    }

    @Test func floatElementTypeIsRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let path = directory + "/float"
        try TestSupport.write(TestSupport.idxHeader(type: 0x0D, dimensions: 3, sizes: [1, 2, 2])
            + Array(repeating: 0, count: 16), to: path)
        let error = TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
        #expect(error == .unsupportedElementType(path: path, found: 0x0D))
        #expect(error?.description.contains("float") == true)
    }

    @Test func labelFileIsNotAcceptedAsImages() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let path = directory + "/labels"
        try IDX.writeLabels([1, 2, 3], to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .wrongDimensions(path: path, expected: 3, found: 1))
        try IDX.writeImages(try TestSupport.sampleImages(count: 1), to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: path) }
            == .wrongDimensions(path: path, expected: 1, found: 3))
    }

    @Test func truncatedRawDataIsRejectedWithSizes() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let path = directory + "/short"
        try TestSupport.write(TestSupport.idxHeader(dimensions: 3, sizes: [10, 28, 28]) + Array(repeating: 1, count: 784 * 9 + 5), to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .truncated(path: path, expectedBytes: 16 + 7840, foundBytes: 16 + 784 * 9 + 5))
        // A header cut short is truncated too.
        try TestSupport.write([0, 0, 8, 3, 0, 0], to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .truncated(path: path, expectedBytes: 16, foundBytes: 6))
    }

    @Test func extraBytesAfterTheDataAreRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let file = TestSupport.idxHeader(dimensions: 1, sizes: [4]) + [1, 2, 3, 4, 5]
        try TestSupport.write(file, to: directory + "/raw")
        try TestSupport.write(Gzip.compress(file), to: directory + "/gz")
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: directory + "/raw") }
            == .trailingData(path: directory + "/raw", expectedBytes: 12, foundBytes: 13))
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: directory + "/gz") }
            == .trailingData(path: directory + "/gz", expectedBytes: 12, foundBytes: 13))
    }

    @Test func truncatedGzipIsAnError() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let images = try TestSupport.sampleImages(count: 200, height: 28, width: 28)
        try IDX.writeImages(images, to: directory + "/raw")
        let compressed = Gzip.compress(try TestSupport.read(directory + "/raw"))
        // Cut in the deflate data, and cut only the 8-byte CRC/length trailer.
        try TestSupport.write(Array(compressed.prefix(compressed.count / 2)), to: directory + "/half.gz")
        try TestSupport.write(Array(compressed.dropLast(4)), to: directory + "/notrailer.gz")
        for name in ["half.gz", "notrailer.gz"] {
            let error = TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: directory + "/" + name) }
            switch error {
            case .gzip(let path, let detail)?:
                #expect(path == directory + "/" + name)
                #expect(detail.contains("ends early"))
            case .truncated?:
                break  // the deflate data ran out before the declared size: equally an error
            default:
                Issue.record("expected a gzip or truncation error for \(name), got \(String(describing: error))")
            }
        }
    }

    @Test func corruptGzipIsAnError() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let file = TestSupport.idxHeader(dimensions: 1, sizes: [1000]) + (0 ..< 1000).map { UInt8($0 % 10) }
        var compressed = Gzip.compress(file)
        compressed[compressed.count - 6] ^= 0xFF  // inside the CRC-32 trailer
        try TestSupport.write(compressed, to: directory + "/bad.gz")
        let error = TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: directory + "/bad.gz") }
        guard case .gzip(_, let detail)? = error else {
            Issue.record("expected a gzip error, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("incorrect data check"))
    }

    @Test func hugeClaimedSizeInTinyFileIsRejectedWithoutReadingOn() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        // 1,000,000 x 28 x 28 = 784 MB claimed by a 40-byte file, raw and compressed.
        let file = TestSupport.idxHeader(dimensions: 3, sizes: [1_000_000, 28, 28]) + Array(repeating: 0, count: 24)
        try TestSupport.write(file, to: directory + "/raw")
        try TestSupport.write(Gzip.compress(file), to: directory + "/gz")
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: directory + "/raw") }
            == .truncated(path: directory + "/raw", expectedBytes: 784_000_016, foundBytes: 40))
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: directory + "/gz") }
            == .truncated(path: directory + "/gz", expectedBytes: 784_000_016, foundBytes: 40))
        #expect(TestSupport.error { () throws(DatasetError) in try IDXImageReader(path: directory + "/raw") }
            == .truncated(path: directory + "/raw", expectedBytes: 784_000_016, foundBytes: 40))
    }

    @Test func claimBeyondTheLimitIsRejectedFromTheHeaderAlone() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let path = directory + "/huge"
        // 4294967295^3 overflows 64 bits; 100000 x 1000 x 1000 is 100 GB, over the 4 GiB limit.
        try TestSupport.write(TestSupport.idxHeader(dimensions: 3, sizes: [.max, .max, .max]), to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .tooLarge(path: path, claimedBytes: .max, limit: IDX.maximumDataBytes))
        try TestSupport.write(TestSupport.idxHeader(dimensions: 3, sizes: [100_000, 1000, 1000]), to: path)
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .tooLarge(path: path, claimedBytes: 100_000_000_000, limit: IDX.maximumDataBytes))
    }

    @Test func zeroImageWidthIsRejected() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let path = directory + "/empty"
        try TestSupport.write(TestSupport.idxHeader(dimensions: 3, sizes: [5, 28, 0]), to: path)
        guard case .invalidHeader? = TestSupport.error({ () throws(DatasetError) in try IDX.readImages(at: path) }) else {
            Issue.record("expected invalidHeader")
            return
        }
    }

    @Test func missingFileIsReportedAsNotFound() {
        let error = TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: "/nonexistent/labels") }
        #expect(error == .fileNotFound(path: "/nonexistent/labels"))
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readLabels(at: "/tmp") }
            == .unreadable(path: "/tmp", detail: "is a directory"))
    }

    @Test func imageSetRejectsWrongPixelCount() throws {
        #expect(TestSupport.error { () throws(DatasetError) in
            try ImageSet(count: 2, height: 2, width: 2, pixels: [1, 2, 3])
        } != nil)
        let images = try TestSupport.sampleImages(count: 3)
        #expect(TestSupport.error { () throws(DatasetError) in
            try LabeledImages(images: images, labels: [1, 2])
        } == .countMismatch(images: 3, labels: 2))
    }

    @Test func imageAccessorsAgree() throws {
        let images = try TestSupport.sampleImages(count: 4)
        #expect(Array(images[2]) == Array(images.pixels[24 ..< 36]))
        #expect(images.withImage(at: 3) { Array($0) } == Array(images.image(at: 3)))
        #expect(images.subset(1 ..< 3).pixels == Array(images.pixels[12 ..< 36]))
        #expect(images.subset(indices: [3, 0]).pixels == Array(images[3]) + Array(images[0]))
    }
}
