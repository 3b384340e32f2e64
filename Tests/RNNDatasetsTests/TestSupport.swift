import Foundation
import Testing
@testable import RNNDatasets

/// Paths and helpers shared by the RNNDatasets tests.
enum TestSupport {
    /// The package root, found from this file's location (Tests/RNNDatasetsTests/TestSupport.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/datasets/mnist` next to the package root. CI has it, so a missing copy fails the
    /// test (through `#require`) instead of skipping it.
    static func sharedMNIST() throws -> String {
        let directory = packageRoot.appendingPathComponent("../shared/datasets/mnist").standardizedFileURL.path
        let present = FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz")
        try #require(present, "shared MNIST copy missing at \(directory)")
        return directory
    }

    /// `../shared/datasets/aclImdb_v1_labeled.tar.gz`; missing fails the test.
    static func sharedIMDb() throws -> String {
        let path = packageRoot.appendingPathComponent("../shared/datasets/aclImdb_v1_labeled.tar.gz")
            .standardizedFileURL.path
        try #require(FileManager.default.fileExists(atPath: path), "shared IMDb archive missing at \(path)")
        return path
    }

    /// A new empty directory under the system temporary directory; remove it with ``remove(_:)``.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "rnndatasets-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `bytes` to `path`.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// An IDX header: magic bytes then big-endian u32 sizes.
    static func idxHeader(type: UInt8 = 0x08, dimensions: UInt8, sizes: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, dimensions]
        for size in sizes {
            bytes += [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)]
        }
        return bytes
    }

    /// A small deterministic image set: pixel values follow a simple formula.
    static func sampleImages(count: Int, height: Int = 4, width: Int = 3) throws -> ImageSet {
        let pixels = (0 ..< count * height * width).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 5) }
        return try ImageSet(count: count, height: height, width: width, pixels: pixels)
    }

    /// Runs `python3 -c script directory` and requires it to succeed (`needs` says what for).
    static func python(_ script: String, directory: String, needs: String = "python3") throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(needs) is needed to write the test files")
    }

    /// This process's peak resident set so far, in bytes (Linux reports `ru_maxrss` in KiB).
    ///
    /// Tests that must not allocate what a hostile header claims compare it before and after,
    /// with a claim of gigabytes and a bound far above what the other tests running meanwhile use.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Runs `body` on a thing that throws a ``DatasetError`` and returns the error (or nil).
    static func error<T>(_ body: () throws(DatasetError) -> T) -> DatasetError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }
}

extension IDXImageReader {
    /// The pixels of every remaining image, read `maxImages` at a time.
    func allPixels(batch maxImages: Int) throws(DatasetError) -> [UInt8] {
        var pixels = [UInt8]()
        while let batch = try nextBatch(maxImages: maxImages) { pixels += batch.pixels }
        return pixels
    }
}
