import Testing
@testable import RNNFormat
#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing files: limits before reading, atomic replacement.
@Suite struct FileTests {
    /// A fresh empty directory under /tmp.
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/rnnformat-tests-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    static func entries(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ dir: String) {
        for name in entries(dir) {
            let path = dir + "/" + name
            if rmdir(path) != 0 { unlink(path) }
        }
        rmdir(dir)
    }

    @Test func writeThenReadGivesTheModelAndNoLeftovers() throws {
        let dir = Self.temporaryDirectory()
        defer { Self.remove(dir) }
        let model = TestModels.tiny(dtype: .bf16)
        try ModelWriter.write(model, to: dir + "/m.rnnm")
        try ModelWriter.write(model, to: dir + "/m.rnnm")  // replaces atomically
        #expect(Self.entries(dir) == ["m.rnnm"])
        #expect(try ModelReader.read(contentsOf: dir + "/m.rnnm") == model)
        #expect(try ModelReader.inspect(contentsOf: dir + "/m.rnnm").features == ["zstd", "bf16"])
    }

    @Test func aFailedEncodeLeavesTheDestinationUnchanged() throws {
        let dir = Self.temporaryDirectory()
        defer { Self.remove(dir) }
        let path = dir + "/m.rnnm"
        try ModelWriter.write(TestModels.tiny(), to: path)
        let before = try ModelReader.read(contentsOf: path)
        var broken = TestModels.tiny()
        broken.metadata.labels = ["only"]
        #expect(errorKind { try ModelWriter.write(broken, to: path) } == .malformed)
        #expect(try ModelReader.read(contentsOf: path) == before)
        #expect(Self.entries(dir) == ["m.rnnm"])
    }

    @Test func aFailedRenameRemovesTheTemporaryFile() throws {
        let dir = Self.temporaryDirectory()
        defer { Self.remove(dir) }
        // The destination is a non-empty directory: rename(2) fails after the data was written.
        mkdir(dir + "/target", 0o755)
        mkdir(dir + "/target/keep", 0o755)
        #expect(errorKind { try ModelWriter.write(TestModels.tiny(), to: dir + "/target") } == .io)
        #expect(Self.entries(dir) == ["target"])
        #expect(Self.entries(dir + "/target") == ["keep"])
        rmdir(dir + "/target/keep")
    }

    @Test func writingIntoAMissingDirectoryIsAnIOError() {
        #expect(errorKind { try ModelWriter.write(TestModels.tiny(), to: "/tmp/rnnformat-does-not-exist/x/m.rnnm") } == .io)
    }

    @Test func writingIntoAReadOnlyDirectoryLeavesNothing() throws {
        // Root ignores directory permissions, so this check is only meaningful for other users.
        guard getuid() != 0 else { return }
        let dir = Self.temporaryDirectory()
        defer { chmod(dir, 0o755); Self.remove(dir) }
        chmod(dir, 0o555)
        #expect(errorKind { try ModelWriter.write(TestModels.tiny(), to: dir + "/m.rnnm") } == .io)
        #expect(Self.entries(dir).isEmpty)
    }

    @Test func readingAMissingFileIsAnIOError() {
        #expect(errorKind { _ = try ModelReader.read(contentsOf: "/tmp/rnnformat-no-such-file.rnnm") } == .io)
    }

    @Test func aFileLargerThanTheLimitIsRefusedBeforeReading() throws {
        let dir = Self.temporaryDirectory()
        defer { Self.remove(dir) }
        let path = dir + "/big.rnnm"
        // A sparse 1 GiB file: if the reader read it whole, the test would take visible time and memory.
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        ftruncate(fd, 1 << 30)
        close(fd)
        #expect(errorKind { _ = try ModelReader.read(contentsOf: path, limits: ReadLimits(maxFileBytes: 1 << 20)) } == .limitExceeded)
    }

    @Test func tensorDataAboveTheCallersLimitIsRefused() throws {
        let bytes = try ModelWriter.encode(TestModels.tiny())
        #expect(errorKind { _ = try ModelReader.decode(bytes, limits: ReadLimits(maxTensorDataBytes: 256)) } == .limitExceeded)
        #expect(errorKind { _ = try ModelReader.decode(bytes, limits: ReadLimits(maxFileBytes: 100)) } == .limitExceeded)
        #expect(errorKind { _ = try ModelReader.decode(bytes, limits: ReadLimits(maxTensorDataBytes: 1 << 20)) } == nil)
    }
}
