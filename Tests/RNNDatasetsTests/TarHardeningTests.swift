import Foundation
import Testing
@testable import RNNDatasets

/// Hostile tar archives (issue #13): each is built here, byte by byte, and must be refused with a
/// one-line ``DatasetError/tar(path:detail:)``, never a trap. Before the fix the first two
/// crashed `rnn-infer text --imdb` and `rnn-train --dataset imdb` with SIGILL.
@Suite struct TarHardeningTests {
    /// A member of `type` whose data is `data`, padded to 512 bytes.
    static func member(_ name: String, type: UInt8, data: [UInt8]) -> [UInt8] {
        IMDbTests.header(name: name, size: data.count, type: type) + data
            + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A pax extended header (`type` "x") holding `records`, followed by one review.
    static func paxArchive(_ records: String) -> [UInt8] {
        member("PaxHeader/7_9.txt", type: UInt8(ascii: "x"), data: Array(records.utf8))
            + IMDbTests.archive([("aclImdb/train/pos/7_9.txt", "Great film.")])
    }

    /// The tar error `body` throws, or a recorded issue naming what came instead.
    static func tarDetail(_ body: () throws(DatasetError) -> some Any) -> String? {
        let error = TestSupport.error(body)
        guard case .tar(_, let detail)? = error else {
            Issue.record("expected a tar error, got \(String(describing: error))")
            return nil
        }
        #expect(!(error?.description.contains("\n") ?? true))
        return detail
    }

    /// Reads `bytes` as `IMDb.load` reads an archive: the members it wants are read, the others
    /// skipped. Returns the names of the members read.
    static func readLikeIMDb(_ bytes: [UInt8]) throws(DatasetError) -> [String] {
        let tar = TarReader(source: MemoryByteSource(bytes))
        var read: [String] = []
        while let entry = try tar.nextEntry() {
            guard entry.isRegularFile, IMDb.classify(path: entry.name) != nil else { continue }
            _ = try tar.readData(limit: .max)
            read.append(entry.name)
        }
        return read
    }

    /// One well-formed pax record: its length counts its own digits.
    static func paxRecord(_ key: String, _ value: String) -> String {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return String(length) + body
    }

    @Test func paxRecordWithoutRoomForItsNewlineIsRefused() throws {
        // "2 " is the issue's record: length 2 covers the digits and the space only, which made an
        // inverted range (SIGILL). Then: no newline at the end, a length past the header, a
        // length near Int.max (whose end offset overflowed), a sign, no digits at all.
        for records in ["2 ", "3 a", "9 path=x\t", "50 path=x\n", "10 path=x\n9223372036854775807 path=y\n",
                        "99999999999999999999999 path=x\n", "+11 path=x\n", " 6 a=b\n"] {
            let detail = Self.tarDetail { () throws(DatasetError) in try Self.readLikeIMDb(Self.paxArchive(records)) }
            #expect(detail?.contains("malformed pax extended header record") == true, "\(records.debugDescription)")
        }
        // The records that are well formed still work, through the file loader too.
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let records = Self.paxRecord("comment", "ok") + Self.paxRecord("path", "aclImdb/test/neg/1_2.txt")
        try TestSupport.write(Self.paxArchive(records), to: directory + "/pax.tar")
        let data = try IMDb.load(from: directory + "/pax.tar")
        #expect(data.test == [TextExample(text: "Great film.", label: 0, rating: 2, id: 1)])
        #expect(data.train.isEmpty)
    }

    @Test func skippedMemberWithBase256SizeNearIntMaxIsRefused() throws {
        // GNU base-256: high bit set, then big-endian bytes. 0x80 00 00 00 7F FF .. FF is just under
        // Int.max; adding its padding overflowed in the skip (SIGILL) before the fix.
        let nearMax: [UInt8] = [0x80, 0, 0, 0] + [0x7F] + [UInt8](repeating: 0xFF, count: 7)
        let archive = IMDbTests.header(name: "aclImdb/train/unsup/1_0.txt", size: 0, sizeField: nearMax)
            + IMDbTests.archive([("aclImdb/train/pos/7_9.txt", "Great film.")])
        let detail = Self.tarDetail { () throws(DatasetError) in try Self.readLikeIMDb(archive) }
        #expect(detail == "member size 9223372036854775807 bytes exceeds the limit of 68719476736 (corrupt size field?)")
        // A base-256 value that does not fit an Int at all.
        let tooWide: [UInt8] = [0xFF] + [UInt8](repeating: 0xFF, count: 11)
        let overflow = Self.tarDetail { () throws(DatasetError) in
            try Self.readLikeIMDb(IMDbTests.header(name: "a", size: 0, sizeField: tooWide) + [UInt8](repeating: 0, count: 1024))
        }
        #expect(overflow == "size field overflows")
    }

    @Test func largeButCappedSizesEndAsTruncationNotAllocation() {
        // The largest octal size (8 GiB - 1) on a skipped member, and 2 GiB on a member that is
        // read: the archive ends long before, which is reported, and nothing of that size is
        // allocated (the old reader allocated the whole member before reading it).
        let before = TestSupport.peakResidentBytes()
        for (name, size) in [("aclImdb/train/unsup/1_0.txt", "77777777777"), ("aclImdb/train/pos/1_8.txt", "20000000000")] {
            let field = Array(size.utf8) + [0]
            let archive = IMDbTests.header(name: name, size: 0, sizeField: field) + Array(repeating: 0x41, count: 4096)
            let detail = Self.tarDetail { () throws(DatasetError) in try Self.readLikeIMDb(archive) }
            #expect(detail?.contains("truncated") == true || detail?.contains("cut short") == true, "\(name): \(detail ?? "")")
        }
        let grown = TestSupport.peakResidentBytes() - before
        #expect(grown < 1 << 30, "peak resident set grew by \(grown >> 20) MiB reading 5 KiB")
    }
}
