import Foundation
import Testing
@testable import RNNSupport

/// Atomic writes clean up what a killed writer left, and only that: a temporary file is removed when
/// no live writer holds its lock AND it is older than the threshold; anything else stays.
@Suite struct AtomicFileTests {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// A file at `name` as a killed writer would leave it, last modified `age` seconds ago.
    func leftover(_ name: String, age: Double, bytes: Int = 100) throws -> String {
        let path = dir + "/" + name
        try Data(repeating: 7, count: bytes).write(to: URL(fileURLWithPath: path))
        let date = Date(timeIntervalSinceNow: -age)
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
        return path
    }

    func entries() throws -> Set<String> { Set(try FileManager.default.contentsOfDirectory(atPath: dir)) }

    /// The stale-temporary scan reads every entry of a large directory, names of every length, without
    /// reading past an entry (it once copied each `struct dirent` whole, 256-byte name included, and
    /// crashed when a short entry ended a page: seen in CI with a large /tmp).
    @Test func aLargeDirectoryOfShortAndLongNamesIsScanned() throws {
        for i in 0..<2000 {
            let name = String(repeating: "n", count: 1 + (i * 37) % 200) + "\(i)"
            FileManager.default.createFile(atPath: dir + "/" + name, contents: nil)
        }
        let stale = try leftover(".model.rnnm.tmp-99999-0", age: 3600)
        for _ in 0..<3 { try AtomicFile.write([1, 2, 3], to: dir + "/model.rnnm") }
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(try entries().count == 2001)
    }

    @Test func aKilledWritersOldTemporaryFileIsRemovedByTheNextWrite() throws {
        // Exactly the name a writer with PID 4242 uses (what `kill -9` left in the issue's report).
        _ = try leftover(".model.rnnm.tmp-4242-0", age: 3600, bytes: 1 << 20)
        try AtomicFile.write([1, 2, 3], to: dir + "/model.rnnm")
        #expect(try entries() == ["model.rnnm"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/model.rnnm")) == Data([1, 2, 3]))
    }

    @Test func aTemporaryFileALiveWriterHoldsIsKeptHoweverOld() throws {
        let path = try leftover(".model.rnnm.tmp-4242-0", age: 3600)
        // A live writer: an open descriptor holding the exclusive lock (flock locks belong to the open
        // file description, so this process's own cleaner is refused like another process's would be).
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX) == 0)
        try AtomicFile.write([1], to: dir + "/model.rnnm")
        #expect(try entries() == ["model.rnnm", ".model.rnnm.tmp-4242-0"])
    }

    @Test func aRecentOrUnrelatedFileIsKept() throws {
        _ = try leftover(".model.rnnm.tmp-4242-0", age: 5)               // younger than the threshold
        _ = try leftover(".other.rnnm.tmp-4242-0", age: 3600)            // another target's
        _ = try leftover(".model.rnnm.tmp-", age: 3600)                  // not a name a writer makes
        _ = try leftover("model.rnnm.tmp-4242-0", age: 3600)             // not hidden: not ours
        try AtomicFile.write([1], to: dir + "/model.rnnm")
        #expect(try entries() == ["model.rnnm", ".model.rnnm.tmp-4242-0", ".other.rnnm.tmp-4242-0",
                                  ".model.rnnm.tmp-", "model.rnnm.tmp-4242-0"])
        // With a threshold of 0 the recent one goes too, and still nothing else.
        try AtomicFile.write([[2]], to: dir + "/model.rnnm", staleTemporaryAge: 0)
        #expect(try entries() == ["model.rnnm", ".other.rnnm.tmp-4242-0", ".model.rnnm.tmp-", "model.rnnm.tmp-4242-0"])
    }
    @Test func aRefusedTemporaryFileLeavesTheTargetAsItWas() throws {
        let target = dir + "/train-labels-idx1-ubyte.gz"
        try AtomicFile.write([1], to: target)
        var checked: [UInt8] = []
        #expect(throws: FileWriteError.self) {
            try AtomicFile.write([[2, 3]], to: target, accepting: { temporary in
                checked = (try? Data(contentsOf: URL(fileURLWithPath: temporary))).map { Array($0) } ?? []
                return false
            })
        }
        #expect(checked == [2, 3])  // the check saw the complete new bytes
        #expect(try entries() == ["train-labels-idx1-ubyte.gz"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([1]))
    }

    @Test func aFailureNamesTheStepTheFileAndTheSystemsReason() throws {
        do {
            try AtomicFile.write([1], to: dir + "/no/such/directory/model.rnnm")
            Issue.record("the write succeeded")
        } catch {
            #expect(error.path == dir + "/no/such/directory")
            #expect(error.reason == "No such file or directory")
            #expect(error.message == "cannot create a temporary file in \"\(dir)/no/such/directory\" to write "
                + "\"\(dir)/no/such/directory/model.rnnm\": No such file or directory")
        }
        #expect(throws: FileWriteError(path: dir + "/", reason: "the path names a directory",
                                       message: "cannot write \"\(dir)/\": the path names a directory")) {
            try AtomicFile.write([1], to: dir + "/")
        }
    }

    @Test func splitNamesTheDirectoryAndTheLastComponent() {
        #expect(AtomicFile.split("model.rnnm") == (".", "model.rnnm"))
        #expect(AtomicFile.split("/model.rnnm") == ("/", "model.rnnm"))
        #expect(AtomicFile.split("out/a/m.rnnm") == ("out/a", "m.rnnm"))
        #expect(AtomicFile.split("out/") == ("out", ""))
    }

    // A failed write (full disk) leaving the old file and no temporary is tested in a child process,
    // under a file-size limit, by CLIHardeningTests (a limit in this process would hit parallel tests).
}
