import Foundation
import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// Files built to make a reader allocate what a header merely claims (issue #13): they must be
/// refused before the allocation, or, when the file really needs more memory than the process
/// may use, with a one-line error instead of an abort.
@Suite struct HostileFileTests {
    /// The micro model with its tensor data replaced by one zstd frame of `prefix` + `zeros` zero
    /// bytes (a few KB on disk), the directory declaring the frame's size.
    static func bomb(tensorData prefix: [UInt8] = [], zeros: Int, table: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var r = RawFile(FixtureModels.micro()).withOptions(.init())
        table(&r.sections[1].content)
        r.sections[2].storedOverride = FixtureCorpus.zstdFrame(prefix, zeros: zeros)
        r.sections[2].sizeOverride = prefix.count + zeros
        return r.bytes()
    }

    /// The micro model plus an unreferenced 1 GiB all-zero f32 tensor whose table entry is
    /// consistent: nothing before decompression refutes the 1 GiB, only memory can refuse it.
    static func consistentGiant() -> [UInt8] {
        let micro = RawFile(FixtureModels.micro())
        let data = micro.sections[2].content
        let giant = 1 << 30
        return bomb(tensorData: data, zeros: giant) { table in
            let count = Int(table.u32(at: 0))
            var entry = [UInt8](repeating: 0, count: Format.tensorEntrySize)
            entry.replaceSubrange(0..<5, with: Array("giant".utf8))
            entry[64] = DType.f32.rawValue
            entry[65] = 2
            Patch.u32(&entry, 68, 1 << 14)
            Patch.u32(&entry, 72, 1 << 14)
            Patch.u64(&entry, 88, UInt64(data.count))
            Patch.u64(&entry, 96, UInt64(giant))
            table += entry
            Patch.u32(&table, 0, UInt32(count + 1))
        }
    }

    @Test func aTwoGiBZeroBombIsRefusedBeforeDecompressing() throws {
        let bytes = Self.bomb(zeros: Format.maxTensorDataBytes)
        #expect(bytes.count < 70_000)
        let error = try #require(throws: ModelFormatError.self) { try ModelReader.decode(bytes) }
        #expect(error.kind == .malformed)
        // The message comes from the check that runs before decompression; the old reader
        // allocated 2 GiB, decompressed, and only then compared the size with the regions.
        #expect(error.message.contains("the tensor table's regions end at"), "\(error)")
        #expect(error.message.contains("checked before decompressing"), "\(error)")
    }

    @Test func theDeclaredDataSizeMustBeExactlyWhatTheTableNeeds() throws {
        let data = RawFile(FixtureModels.micro()).sections[2].content
        for extra in [64, 1 << 20] {
            let error = try #require(throws: ModelFormatError.self) { try ModelReader.decode(Self.bomb(tensorData: data, zeros: extra)) }
            #expect(error.kind == .malformed && error.message.contains("checked before decompressing"), "\(error)")
        }
        // The same construction with no extra bytes is a valid file: the frame builder is sound.
        #expect(throws: Never.self) { try ModelReader.decode(Self.bomb(tensorData: data, zeros: 0)) }
    }

    @Test func theGiantIsValidUpToTheUnreferencedTensor() throws {
        // Without a memory limit the 1 GiB is allocated (checked) and the cross-check refuses it;
        // this pins that the subprocess test below fails for memory, not for an earlier check.
        let bytes = Self.consistentGiant()
        #expect(bytes.count < 70_000)
        let container = try Container.parse(bytes, limits: .default)
        let entries = try TensorEntry.parseTable(try container.payload(of: .tensorTable).array)
        _ = try TensorEntry.checkLayout(entries, sectionSize: container.section(.tensorData).size)
    }

    @Test func checkedBuffersReportExhaustionInsteadOfTrapping() {
        // More than any address space: malloc fails, the helper throws.
        let error = #expect(throws: ModelFormatError.self) { _ = try CheckedBuffer(count: Int.max / 2, for: "a test buffer") }
        #expect(error?.kind == .limitExceeded)
        #expect(error?.message.contains("out of memory") == true)
        #expect(throws: ModelFormatError.self) { try CheckedAllocation.reserve(Int.max / 2, for: "a test array") }
    }

    /// `rnn-infer` (next to this test binary) under `ulimit -v`: exit status 2 and one error line,
    /// never SIGABRT (`swift test` builds `rnn-infer` into the same products directory).
    @Test(arguments: [
        ("bomb", ModelFormatError.Kind.malformed, "checked before decompressing"),
        ("giant", .limitExceeded, "out of memory"),
        ("valid", nil, ""),
    ] as [(String, ModelFormatError.Kind?, String)])
    func aLoaderUnderAMemoryLimitFailsCleanly(_ name: String, _ kind: ModelFormatError.Kind?, _ phrase: String) throws {
        let products = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let rnnInfer = products.appendingPathComponent("rnn-infer").path
        try #require(FileManager.default.isExecutableFile(atPath: rnnInfer), "no rnn-infer next to the tests in \(products.path)")
        let bytes = switch name {
        case "bomb": Self.bomb(zeros: Format.maxTensorDataBytes)
        case "giant": Self.consistentGiant()
        default: try! ModelWriter.encode(FixtureModels.micro(), options: .init())
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(name)-\(UUID().uuidString).rnnm")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // 600 MB of address space: rnn-infer starts in about 250 MB, the giant needs 1 GiB more.
        process.arguments = ["-c", "ulimit -v 600000; exec \"$0\" inspect \"$1\" 2>&1 >/dev/null", rnnInfer, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "rnn-infer was killed by signal \(process.terminationStatus): \(output)")
        guard let kind else {
            #expect(process.terminationStatus == 0, "\(output)")
            return
        }
        #expect(process.terminationStatus == 2, "\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "\(output)")
        #expect(output.contains("\(kind.rawValue): ") && output.contains(phrase), "\(output)")
    }
}
