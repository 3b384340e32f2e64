import Foundation
import Testing
@testable import RNNDatasets

/// IDX headers that claim far more data than arrives (issue #13): the readers must report the
/// truncation having allocated only about what arrived, never what the header or a batch size
/// claims. Before the fix a 16-byte header on standard input made `rnn-infer` reserve a whole
/// batch (4.2 GB for 4096x4096 images) before reading a pixel.
@Suite struct IDXHardeningTests {
    @Test func readBytesGrowsWithTheDataNotWithTheCount() throws {
        let source = MemoryByteSource(Array(repeating: 7, count: 100))
        let bytes = try source.readBytes(1 << 30)
        #expect(bytes == Array(repeating: 7, count: 100))
        #expect(bytes.capacity <= 2 * byteSourceChunkBytes, "reserved \(bytes.capacity) bytes for 100")
    }

    @Test func batchReaderOnAStreamReservesOnlyWhatArrives() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        // 128 images of 4096x4096 (2 GiB, under the 4 GiB limit) claimed by a header followed by
        // 1,000 bytes, gzip-compressed so that the length is unknown, exactly as on standard input.
        let path = directory + "/claims-2GiB.gz"
        try TestSupport.write(Gzip.compress(TestSupport.idxHeader(dimensions: 3, sizes: [128, 4096, 4096])
            + Array(repeating: 9, count: 1000)), to: path)
        let before = TestSupport.peakResidentBytes()
        let reader = try IDXImageReader(path: path)
        let error = TestSupport.error { () throws(DatasetError) in try reader.nextBatch(maxImages: 1_000_000) }
        #expect(error == .truncated(path: path, expectedBytes: 16 + (2 << 30), foundBytes: 1016))
        #expect(TestSupport.error { () throws(DatasetError) in try IDX.readImages(at: path) }
            == .truncated(path: path, expectedBytes: 16 + (2 << 30), foundBytes: 1016))
        // The old reader touched the whole 2 GiB batch; other tests running meanwhile stay far below 1 GiB.
        let grown = TestSupport.peakResidentBytes() - before
        #expect(grown < 1 << 30, "peak resident set grew by \(grown >> 20) MiB reading 1,016 bytes")
    }

    @Test func rawFileAndMemoryStreamGiveTheSameImages() throws {
        // A raw regular file's batches are allocated at once (its length was checked); a stream's
        // grow as they arrive. Both must give the written images, in any batch size.
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let images = try TestSupport.sampleImages(count: 11, height: 5, width: 3)
        try IDX.writeImages(images, to: directory + "/raw")
        #expect(try IDXImageReader(path: directory + "/raw").allPixels(batch: 4) == images.pixels)
        let file = try TestSupport.read(directory + "/raw")
        #expect(try IDXImageReader(source: MemoryByteSource(file), rawSize: nil).allPixels(batch: 11) == images.pixels)
        let stream = MemoryByteSource(file)
        let header = try IDXHeader.read(from: stream, dimensions: 3)
        #expect(try IDX.readData(of: header, from: stream, rawSize: nil) == images.pixels)
    }
}
