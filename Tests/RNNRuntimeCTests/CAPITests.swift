import CRNNRuntime
import Dispatch
import RNNRuntime
import RNNRuntimeC
import Testing

/// The C API called from Swift: the same entry points a C program links against, so `swift test`
/// covers them without a C compiler (examples/run.sh covers them from C, Python and under TSan).
@Suite struct CAPITests {
    /// The repository root, from this file's path (Tests/RNNRuntimeCTests/CAPITests.swift).
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func fixture(_ name: String) -> String { "\(root)/fixtures/\(name)" }

    /// Loads `fixtures/models/<name>` through the C API.
    static func load(_ name: String) throws -> OpaquePointer {
        var handle: OpaquePointer?
        let status = rnn_model_load(fixture("models/\(name)"), &handle)
        try #require(status == RNN_OK, "\(lastMessage)")
        return try #require(handle)
    }

    static var lastMessage: String { String(cString: rnn_last_error_message()!) }

    /// The image shape and class count of a loaded model, through the C queries.
    static func contract(_ handle: OpaquePointer) -> (height: Int, width: Int, classes: Int) {
        var height = 0, width = 0, classes = 0
        _ = rnn_model_input_shape(handle, &height, &width)
        _ = rnn_model_class_count(handle, &classes)
        return (height, width, classes)
    }

    /// Deterministic pixels for `count` images of `perImage` values.
    static func pixels(count: Int, perImage: Int) -> [UInt8] {
        (0..<(count * perImage)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
    }

    @Test func versionFunctionsMatchTheHeaderMacros() {
        // RNN_RUNTIME_VERSION_NUMBER is an expression macro, which Swift does not import.
        let number = RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH
        #expect(rnn_runtime_version() == UInt32(number))
        #expect(String(cString: rnn_runtime_version_string()!) == RNN_RUNTIME_VERSION_STRING)
        #expect(RuntimeVersion.string == RNN_RUNTIME_VERSION_STRING)  // what rnn-infer --version prints
        #expect(String(cString: rnn_status_name(RNN_ERROR_INPUT_SIZE)!) == "RNN_ERROR_INPUT_SIZE")
        #expect(String(cString: rnn_status_name(rnn_status(rawValue: 777))!) == "RNN_ERROR_UNKNOWN")
    }

    @Test func queriesReportTheInputContractAndLabels() throws {
        let handle = try Self.load("small-h16.rnnm")
        defer { _ = rnn_model_free(handle) }
        let model = try Model(contentsOf: Self.fixture("models/small-h16.rnnm"))
        var height = 0, width = 0, classes = 0
        var scale: Float = 0, offset: Float = 0
        #expect(rnn_model_input_shape(handle, &height, &width) == RNN_OK)
        #expect(rnn_model_class_count(handle, &classes) == RNN_OK)
        #expect(rnn_model_input_normalization(handle, &scale, &offset) == RNN_OK)
        #expect((height, width, classes) == (model.input.height, model.input.width, model.classCount))
        #expect((scale, offset) == (model.input.scale, model.input.offset))
        var buffer = [CChar](repeating: 0, count: 257)
        for index in 0..<classes {
            #expect(rnn_model_label(handle, index, &buffer, buffer.count, nil) == RNN_OK)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(text == model.labels[index])
        }
    }

    @Test func classifyMatchesTheSwiftRuntimeBitForBit() throws {
        let handle = try Self.load("small-h16.rnnm")
        defer { _ = rnn_model_free(handle) }
        let model = try Model(contentsOf: Self.fixture("models/small-h16.rnnm"))
        let count = 37
        let pixels = Self.pixels(count: count, perImage: model.pixelsPerImage)
        let expected = try model.classify(pixels: pixels)

        var logits = [Float](repeating: .nan, count: count * model.classCount)
        var probabilities = logits
        var classes = [Int32](repeating: -1, count: count)
        #expect(rnn_classify_u8(handle, pixels, pixels.count, count, &logits, logits.count) == RNN_OK)
        #expect(rnn_classify_u8_probabilities(handle, pixels, pixels.count, count, &probabilities, probabilities.count) == RNN_OK)
        #expect(rnn_classify_u8_classes(handle, pixels, pixels.count, count, &classes, classes.count) == RNN_OK)
        #expect(logits == expected.logits)
        #expect(probabilities == expected.probabilities)
        #expect(classes.map(Int.init) == expected.predictions)

        // The f32 entry points take features with the input contract already applied (spec §6.2).
        let features = pixels.map { Float($0) * model.input.scale + model.input.offset }
        var featureLogits = [Float](repeating: .nan, count: logits.count)
        #expect(rnn_classify_f32(handle, features, features.count, count, &featureLogits, featureLogits.count) == RNN_OK)
        #expect(featureLogits == logits)
    }

    @Test func badArgumentsReturnTheirStatusAndLeaveOutputsUntouched() throws {
        let handle = try Self.load("tiny-h4.rnnm")
        defer { _ = rnn_model_free(handle) }
        let (height, width, classes) = Self.contract(handle)
        let pixels = Self.pixels(count: 2, perImage: height * width)
        var out = [Float](repeating: 42, count: 2 * classes)

        #expect(rnn_classify_u8(nil, pixels, pixels.count, 2, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(Self.lastMessage == "rnn_classify_u8: model is NULL")
        #expect(rnn_classify_u8(handle, nil, pixels.count, 2, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_classify_u8(handle, pixels, pixels.count - 1, 2, &out, out.count) == RNN_ERROR_INPUT_SIZE)
        #expect(rnn_classify_u8(handle, pixels, pixels.count, 2, &out, out.count - 1) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(Self.lastMessage.contains("out_len is \(out.count - 1)"))
        #expect(rnn_classify_u8(handle, pixels, pixels.count, -1, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(out.allSatisfy { $0 == 42 })
        #expect(rnn_classify_u8(handle, nil, 0, 0, nil, 0) == RNN_OK)
        #expect(Self.lastMessage.isEmpty)

        var features = pixels.map(Float.init)
        features[3] = .nan
        #expect(rnn_classify_f32(handle, features, features.count, 2, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        var required = 0
        #expect(rnn_model_label(handle, classes, nil, 0, &required) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(rnn_model_label(handle, 0, nil, 0, &required) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(required >= 2)
    }

    @Test func callerLengthsAreCheckedBeforeAnythingIsCopiedOrAllocated() throws {
        // Issue #13: a length of 2^40 over a 64-byte buffer used to be copied (and abort) before the
        // reader saw it; now it is refused against the file-size cap without reading `data`.
        let small = [UInt8](repeating: 0, count: 64)
        var handle: OpaquePointer? = OpaquePointer(bitPattern: 1)
        #expect(rnn_model_load_from_memory(small, 1 << 40, &handle) == RNN_ERROR_LIMIT_EXCEEDED)
        #expect(handle == nil)
        #expect(Self.lastMessage.contains("size is 1099511627776 bytes; the reader's file-size limit is"), "\(Self.lastMessage)")

        // A count whose results (logits, probabilities, classes) no process can hold: refused before
        // the runtime allocates them or reads the (short) input, for every output kind.
        let model = try Self.load("tiny-h4.rnnm")
        defer { _ = rnn_model_free(model) }
        var height = 0, width = 0
        _ = rnn_model_input_shape(model, &height, &width)
        let count = 1 << 45
        let pixels = [UInt8](repeating: 0, count: height * width)
        var logits = [Float](repeating: 42, count: 4)
        var classes = [Int32](repeating: 42, count: 4)
        #expect(rnn_classify_u8(model, pixels, count * height * width, count, &logits, count * 3) == RNN_ERROR_LIMIT_EXCEEDED)
        #expect(Self.lastMessage.contains("out of memory"), "\(Self.lastMessage)")
        #expect(rnn_classify_u8_classes(model, pixels, count * height * width, count, &classes, count) == RNN_ERROR_LIMIT_EXCEEDED)
        let features = [Float](repeating: 0, count: height * width)
        #expect(rnn_classify_f32_probabilities(model, features, count * height * width, count, &logits, count * 3) == RNN_ERROR_LIMIT_EXCEEDED)
        #expect(logits.allSatisfy { $0 == 42 } && classes.allSatisfy { $0 == 42 })
    }

    @Test func freedAndForgedHandlesAreRefused() throws {
        let handle = try Self.load("tiny-h4.rnnm")
        var classes = 0
        #expect(rnn_model_free(handle) == RNN_OK)
        #expect(rnn_model_class_count(handle, &classes) == RNN_ERROR_INVALID_HANDLE)
        #expect(Self.lastMessage.contains("already freed"))
        #expect(rnn_model_free(handle) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_model_free(nil) == RNN_OK)
        let forged = OpaquePointer(bitPattern: 0xdead_bee0)
        #expect(rnn_model_class_count(forged, &classes) == RNN_ERROR_INVALID_HANDLE)
        #expect(Self.lastMessage.contains("did not come from"))
    }

    @Test(arguments: [
        ("empty.rnnm", RNN_ERROR_TRUNCATED), ("bad-magic.rnnm", RNN_ERROR_NOT_A_MODEL),
        ("flipped-crc.rnnm", RNN_ERROR_CORRUPTED), ("future-major-2.rnnm", RNN_ERROR_UNSUPPORTED_VERSION),
        ("unknown-dtype-9.rnnm", RNN_ERROR_UNSUPPORTED_FEATURE), ("layers-65.rnnm", RNN_ERROR_LIMIT_EXCEEDED),
        ("padding-nonzero.rnnm", RNN_ERROR_MALFORMED), ("shape-mismatch.rnnm", RNN_ERROR_SHAPE_MISMATCH),
        ("nan-weight.rnnm", RNN_ERROR_INVALID_TENSOR),
    ])
    func corruptFilesFailWithTheirErrorClass(file: String, expected: rnn_status) {
        var handle: OpaquePointer? = OpaquePointer(bitPattern: 1)
        #expect(rnn_model_load(Self.fixture("corrupt/\(file)"), &handle) == expected, "\(Self.lastMessage)")
        #expect(handle == nil)
        #expect(Self.lastMessage.hasPrefix("rnn_model_load: cannot load model"))
        var missing: OpaquePointer?
        #expect(rnn_model_load("\(Self.root)/no/such/model.rnnm", &missing) == RNN_ERROR_IO)
    }

    @Test func threadsSharingOneHandleGetTheSingleThreadLogits() throws {
        let handle = try Self.load("small-h16.rnnm")
        defer { _ = rnn_model_free(handle) }
        let (height, width, classes) = Self.contract(handle)
        let count = 20, perImage = height * width
        let pixels = Self.pixels(count: count, perImage: perImage)
        var computed = [Float](repeating: 0, count: count * classes)
        #expect(rnn_classify_u8(handle, pixels, pixels.count, count, &computed, computed.count) == RNN_OK)
        let reference = computed, rowLength = count * classes

        let handleBits = UInt(bitPattern: Int(bitPattern: handle))
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let shared = OpaquePointer(bitPattern: handleBits)
            for _ in 0..<10 {
                var logits = [Float](repeating: 0, count: rowLength)
                let status = rnn_classify_u8(shared, pixels, pixels.count, count, &logits, logits.count)
                if status != RNN_OK || logits != reference { mismatches.increment() }
            }
        }
        #expect(mismatches.value == 0)
    }
}

/// A thread-safe counter for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = DispatchQueue(label: "counter")
    private var count = 0
    func increment() { lock.sync { count += 1 } }
    var value: Int { lock.sync { count } }
}
