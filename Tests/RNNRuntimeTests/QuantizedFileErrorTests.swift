import Foundation
import RNNCore
@testable import RNNFormat
import Testing
@testable import RNNRuntime

/// Bad int8 scales are refused at load, through the runtime's own load path and the CLI's exit
/// status (spec §4.2: every scale finite and > 0, `invalid_tensor`; §4: `scale_size == dims[0] x 4`,
/// `malformed`).
@Suite struct QuantizedFileErrorTests {
    /// The default MNIST shapes, int8, uncompressed so that the scales can be patched in place.
    static let int8Bytes: [UInt8] = try! ModelWriter.encode(QuantizedModelTests.mnistShaped.converted(to: .int8),
                                                            options: .uncompressed)

    /// ``int8Bytes`` with scale `row` of the first tensor set to `value`, checksum fixed so that
    /// only the value rule can fail.
    static func withScale(_ value: Float, row: Int) throws -> [UInt8] {
        var bytes = int8Bytes
        let file = try ModelReader.decode(bytes)
        let first = file.tensors[0]
        guard case .int8(_, let scales) = first.storage else { throw Unexpected.notInt8 }
        // Canonical layout (spec §5): values at data offset 0, scales at the next multiple of 64.
        let dataSection = Int(bytes.u64(at: 64 + 64 * 2 + 8))
        let at = dataSection + (first.count + 63) / 64 * 64 + 4 * row
        #expect(bytes.u32(at: at) == scales[row].bitPattern, "the scale is where the canonical layout puts it")
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * i)) }
        let trailer = bytes.count - 16
        let crc = Checksum.crc32(bytes, count: trailer)
        for i in 0..<4 { bytes[trailer + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
        return bytes
    }

    enum Unexpected: Error { case notInt8 }

    static let badScales: [(String, Float)] = [("zero", 0), ("negative", -0.5), ("NaN", .nan), ("infinite", .infinity)]

    @Test func theUnpatchedFileLoads() throws {
        #expect(try Model(bytes: Self.int8Bytes).classCount == 10)
    }

    @Test(arguments: badScales.map(\.0))
    func aBadScaleIsRefusedAtLoadNamingTheTensorAndRow(name: String) throws {
        let value = Self.badScales.first { $0.0 == name }!.1
        let bytes = try Self.withScale(value, row: 3)
        #expect(throws: RuntimeError.self) { try Model(bytes: bytes) }
        do {
            _ = try Model(bytes: bytes)
        } catch {
            guard case .unreadableModel(_, let formatError) = error else { Issue.record("\(error)"); return }
            #expect(formatError.kind == .invalidTensor)
            #expect(formatError.message.contains("dense0.weight") && formatError.message.contains("scale 3"),
                    "\(formatError)")
        }
    }

    /// The corrupt-file corpus's int8 cases, through `Model(contentsOf:)`.
    @Test(arguments: [("int8-scale-zero", "invalid_tensor"), ("int8-scale-negative", "invalid_tensor"),
                      ("int8-scale-nan", "invalid_tensor"), ("int8-scale-infinite", "invalid_tensor"),
                      ("int8-scale-count-mismatch", "malformed"), ("int8-minus-128", "invalid_tensor"),
                      ("int8-dequantizes-to-infinity", "invalid_tensor")])
    func corpusFilesWithBadScalesAreRefused(file: String, kind: String) throws {
        let path = repositoryRoot.appendingPathComponent("fixtures/corrupt/\(file).rnnm").path
        try #require(FileManager.default.fileExists(atPath: path))
        do {
            _ = try Model(contentsOf: path)
            Issue.record("\(file) loaded")
        } catch {
            guard case .unreadableModel(let p, let formatError) = error else { Issue.record("\(error)"); return }
            #expect(p == path)
            #expect(formatError.kind.rawValue == kind, "\(formatError)")
        }
    }

    /// `classify`, `verify` and `convert` all exit with status 2 (model file error), `classify`
    /// and `convert` with one `rnn-infer: error:` line that names the problem.
    @Test(.enabled(if: rnnInferExecutable != nil, "rnn-infer must be built next to the tests (swift build)"))
    func theCLIExitsWithStatus2OnABadScale() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = dir.appendingPathComponent("images.idx")
        var rng = SplitMix64(seed: 5)
        try idxImages(count: 2, height: 28, width: 28, pixels: rng.bytes(2 * 784)).write(to: images)
        let mismatch = repositoryRoot.appendingPathComponent("fixtures/corrupt/int8-scale-count-mismatch.rnnm").path
        var cases: [(path: String, fragment: String)] = []
        for (name, value) in Self.badScales {
            let url = dir.appendingPathComponent("scale-\(name).rnnm")
            try Data(Self.withScale(value, row: 7)).write(to: url)
            cases.append((url.path, "scale 7"))
        }
        if FileManager.default.fileExists(atPath: mismatch) { cases.append((mismatch, "scale_size")) }
        for (path, fragment) in cases {
            let classify = try runProcess(rnnInferExecutable!, [images.path, "--model", path])
            #expect(classify.status == 2 && classify.errorLines.count == 1, "\(path): \(classify.stderr)")
            #expect(classify.errorLines.first?.contains(fragment) == true, "\(path): \(classify.stderr)")
            #expect(try runProcess(rnnInferExecutable!, ["verify", path]).status == 2)
            let convert = try runProcess(rnnInferExecutable!, ["convert", path, dir.appendingPathComponent("out.rnnm").path,
                                                               "--weights", "f32"])
            #expect(convert.status == 2 && convert.errorLines.first?.contains(fragment) == true, "\(convert.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.rnnm").path))
        }
    }

    /// `convert` writes what `ModelFile.converted(to:)` gives, and the runtime classifies with it.
    @Test(.enabled(if: rnnInferExecutable != nil, "rnn-infer must be built next to the tests (swift build)"))
    func convertWritesTheConvertedModel() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try writeModel(QuantizedModelTests.mnistShaped, to: dir)
        for dtype in DType.allCases {
            let out = dir.appendingPathComponent("m-\(dtype).rnnm").path
            let result = try runProcess(rnnInferExecutable!, ["convert", source.path, out, "--weights", dtype.description])
            #expect(result.status == 0 && result.stderr.contains("wrote \(out)"), "\(result.stderr)")
            #expect(try ModelReader.read(contentsOf: out) == QuantizedModelTests.mnistShaped.converted(to: dtype))
        }
        let raw = dir.appendingPathComponent("raw.rnnm").path
        #expect(try runProcess(rnnInferExecutable!, ["convert", source.path, raw, "--weights", "int8", "--uncompressed"]).status == 0)
        #expect(try ModelReader.inspect(contentsOf: raw).sections.allSatisfy { $0.codec == "none" })
        let usage = try runProcess(rnnInferExecutable!, ["convert", source.path, raw, "--weights", "int4"])
        #expect(usage.status == 64)
        let unwritable = try runProcess(rnnInferExecutable!, ["convert", source.path, "/nonexistent-dir/x.rnnm", "--weights", "int8"])
        #expect(unwritable.status == 5 && unwritable.errorLines.count == 1)
    }
}
