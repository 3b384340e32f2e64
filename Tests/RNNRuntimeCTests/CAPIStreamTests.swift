import CRNNRuntime
import Dispatch
import RNNFormat
import RNNRuntime
import Testing

/// Streams through the C API (`rnn_stream_*`): step by step equals whole-sequence classification
/// through the C API, states save and restore, every error path, and threads sharing a stream
/// (run under ThreadSanitizer by `make tsan`).
@Suite struct CAPIStreamTests {
    var lastMessage: String { CAPITests.lastMessage }

    /// A stream of `count` sequences; the caller frees it.
    static func stream(_ model: OpaquePointer, count: Int) throws -> OpaquePointer {
        var stream: OpaquePointer?
        try #require(rnn_stream_create(model, count, &stream) == RNN_OK, "\(CAPITests.lastMessage)")
        return try #require(stream)
    }

    /// Steps `stream` once; the outputs, or nil (and the status recorded) on failure.
    static func step(_ stream: OpaquePointer, _ values: [Float], outputs: Int) -> [Float]? {
        var out = [Float](repeating: .nan, count: outputs)
        let status = rnn_stream_step(stream, values, values.count, &out, out.count)
        #expect(status == RNN_OK, "\(CAPITests.lastMessage)")
        return status == RNN_OK ? out : nil
    }

    static func state(_ stream: OpaquePointer, _ index: Int) -> [Float] {
        var size = 0
        _ = rnn_stream_state_size(stream, &size)
        var state = [Float](repeating: .nan, count: size)
        #expect(rnn_stream_get_state(stream, index, &state, size) == RNN_OK, "\(CAPITests.lastMessage)")
        return state
    }

    /// Three sequences stepped together give, after each step t, what `rnn_classify_features` gives
    /// for the prefixes of length t + 1 in one padded call (lengths 1 ... T: the last row of each
    /// prefix). Tolerance 1e-5: the same kernels on fewer rows (BLAS may round a 3-row product
    /// differently from a 3T-row one); measured differences are printed.
    @Test(arguments: ["gru", "per-step lstm", "values"])
    func steppingEqualsClassifyingEveryPrefix(_ name: String) throws {
        let file = ["gru": CAPIKindTests.gru, "per-step lstm": CAPIKindTests.perStep, "values": CAPIKindTests.values][name]!
        let model = try TestModels.load(file)
        defer { _ = rnn_model_free(model) }
        let width = file.metadata.input.width, steps = file.metadata.input.timeSteps, classes = file.metadata.labels.count
        let count = 3
        let sequences = CAPIKindTests.padded(width: width, steps: steps, lengths: [Int](repeating: steps, count: count), seed: 5)
        let stream = try Self.stream(model, count: count)
        defer { _ = rnn_stream_free(stream) }

        // All prefixes of all sequences in one call: sequence s's prefix of length t + 1 is row s * T + t.
        var prefixes: [Float] = []
        var lengths: [Int] = []
        for s in 0..<count {
            let sequence = Array(sequences[(s * steps * width)..<((s + 1) * steps * width)])
            for t in 0..<steps { prefixes += sequence; lengths.append(t + 1) }
        }
        var perStep: CInt = 0
        _ = rnn_model_outputs_per_step(model, &perStep)
        let rows = perStep == 1 ? lengths.reduce(0, +) : lengths.count
        var whole = [Float](repeating: .nan, count: rows * classes)
        #expect(rnn_classify_features(model, prefixes, prefixes.count, lengths.count, steps, lengths, &whole, whole.count) == RNN_OK,
                "\(lastMessage)")
        // The last output row of prefix k.
        var lastRow = [Int](repeating: 0, count: lengths.count)
        var row = -1
        for (k, length) in lengths.enumerated() { row += perStep == 1 ? length : 1; lastRow[k] = row }

        var worst: Float = 0
        for t in 0..<steps {
            var step: [Float] = []
            for s in 0..<count { step += sequences[(s * steps + t) * width..<((s * steps + t + 1) * width)] }
            let outputs = try #require(Self.step(stream, step, outputs: count * classes))
            for s in 0..<count {
                let expected = lastRow[s * steps + t] * classes
                for c in 0..<classes {
                    let error = abs(outputs[s * classes + c] - whole[expected + c])
                    worst = max(worst, error)
                    #expect(error <= 1e-5, "\(name): sequence \(s) step \(t) output \(c)")
                }
            }
        }
        print("[c stream] \(name): max |step-by-step - rnn_classify_features| \(worst)")
    }

    @Test func anImageStreamGivesTheImageLogitsAfterItsLastRow() throws {
        let model = try CAPITests.load("small-h16.rnnm")
        defer { _ = rnn_model_free(model) }
        let (height, width, classes) = CAPITests.contract(model)
        let pixels = CAPITests.pixels(count: 2, perImage: height * width)
        var logits = [Float](repeating: 0, count: 2 * classes)
        #expect(rnn_classify_u8(model, pixels, pixels.count, 2, &logits, logits.count) == RNN_OK)
        let stream = try Self.stream(model, count: 2)
        defer { _ = rnn_stream_free(stream) }
        var outputs = [Float](repeating: 0, count: 2 * classes)
        for row in 0..<height {
            // Row `row` of both images, side by side.
            var rows: [UInt8] = []
            for i in 0..<2 {
                let start = (i * height + row) * width
                rows += pixels[start..<(start + width)]
            }
            #expect(rnn_stream_step_u8(stream, rows, rows.count, &outputs, outputs.count) == RNN_OK, "\(lastMessage)")
        }
        for (a, b) in zip(outputs, logits) { #expect(abs(a - b) <= 1e-5, "stream \(a), image \(b)") }
        // The f32 step is for features models; an image stream says which function to use.
        #expect(rnn_stream_step(stream, [Float](repeating: 0, count: 2 * width), 2 * width, &outputs, outputs.count)
                == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(lastMessage == "rnn_stream_step: the model reads images (input kind 'image_rows'), not feature sequences: "
            + "use rnn_stream_step_u8")
    }

    @Test func aSavedStateContinuesInAnotherStreamBitForBit() throws {
        let model = try TestModels.load(CAPIKindTests.gru)
        defer { _ = rnn_model_free(model) }
        let width = 5, classes = 3
        let inputs = CAPIKindTests.padded(width: width, steps: 30, lengths: [30], seed: 6)
        func step(_ t: Int) -> [Float] { Array(inputs[(t * width)..<((t + 1) * width)]) }
        let zeros = [Float](repeating: 0, count: width)

        let first = try Self.stream(model, count: 2)
        defer { _ = rnn_stream_free(first) }
        var uninterrupted: [[Float]] = []
        for t in 0..<30 {
            uninterrupted.append(Array(try #require(Self.step(first, step(t) + zeros, outputs: 2 * classes)).prefix(classes)))
            if t == 11 {
                // A second stream (a stateless server's next request) takes sequence 0's state into its sequence 1.
                let saved = Self.state(first, 0)
                var size = 0
                #expect(rnn_stream_state_size(first, &size) == RNN_OK && size == saved.count && size == 6)  // GRU: h only
                let second = try Self.stream(model, count: 2)
                defer { _ = rnn_stream_free(second) }
                #expect(rnn_stream_set_state(second, 1, saved, saved.count) == RNN_OK)
                #expect(Self.state(second, 1) == saved)
                for u in 12..<30 {
                    let outputs = try #require(Self.step(second, zeros + step(u), outputs: 2 * classes))
                    let reference = try #require(Self.step(first, step(u) + zeros, outputs: 2 * classes))
                    // The same state, the same step, the same number of rows: the same bits.
                    #expect(Array(outputs[classes...]) == Array(reference.prefix(classes)), "step \(u)")
                }
                break
            }
        }
        #expect(uninterrupted.count == 12)

        // Reset one sequence, then all: the zero state, and the outputs of a fresh stream.
        #expect(rnn_stream_reset(first, 0) == RNN_OK)
        #expect(Self.state(first, 0).allSatisfy { $0 == 0 })
        #expect(Self.state(first, 1).contains { $0 != 0 })
        #expect(rnn_stream_reset_all(first) == RNN_OK)
        #expect(Self.state(first, 1).allSatisfy { $0 == 0 })
        let again = try #require(Self.step(first, step(0) + zeros, outputs: 2 * classes))
        #expect(Array(again.prefix(classes)) == uninterrupted[0])
    }

    @Test func streamFunctionsCheckEveryArgument() throws {
        let model = try TestModels.load(CAPIKindTests.gru)
        var stream: OpaquePointer? = OpaquePointer(bitPattern: 16)
        #expect(rnn_stream_create(nil, 1, &stream) == RNN_ERROR_NULL_ARGUMENT)
        #expect(stream == nil)
        #expect(rnn_stream_create(model, 1, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_stream_create: out_stream is NULL")
        #expect(rnn_stream_create(model, 0, &stream) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_stream_create: count is 0, expected 1 ... 4096 sequences")
        #expect(rnn_stream_create(model, 4097, &stream) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(rnn_stream_create(model, -1, &stream) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(stream == nil)
        let bidirectional = try TestModels.load(CAPIKindTests.bidirectional)
        #expect(rnn_stream_create(bidirectional, 1, &stream) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(lastMessage.contains("cannot be streamed: it has a bidirectional layer"), "\(lastMessage)")
        _ = rnn_model_free(bidirectional)

        let live = try Self.stream(model, count: 2)
        let width = 5, classes = 3
        var values = [Float](repeating: 0.5, count: 2 * width)
        var out = [Float](repeating: 42, count: 2 * classes)
        let before = Self.state(live, 1)
        #expect(rnn_stream_step(nil, values, values.count, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_stream_step: stream is NULL")
        #expect(rnn_stream_step(live, nil, values.count, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_stream_step: values is NULL")
        #expect(rnn_stream_step(live, values, values.count, nil, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_stream_step(live, values, values.count - 1, &out, out.count) == RNN_ERROR_INPUT_SIZE)
        #expect(lastMessage == "rnn_stream_step: values_len is 9, but 2 sequences x 5 features need 10 values")
        #expect(rnn_stream_step(live, values, -1, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(rnn_stream_step(live, values, values.count, &out, out.count - 1) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage == "rnn_stream_step: out_len is 5, but 2 sequences x 3 outputs need 6 floats")
        values[7] = .nan
        #expect(rnn_stream_step(live, values, values.count, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_stream_step: values[7] (sequence 1, feature 2) is nan, expected a finite value")
        #expect(rnn_stream_step_u8(live, [UInt8](repeating: 0, count: 10), 10, &out, out.count) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(lastMessage.hasSuffix("use rnn_stream_step"), "\(lastMessage)")
        #expect(out.allSatisfy { $0 == 42 })
        #expect(Self.state(live, 1) == before)  // failed steps changed nothing

        var size = 0
        var state = [Float](repeating: 42, count: 6)
        #expect(rnn_stream_state_size(live, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_stream_state_size(live, &size) == RNN_OK && size == 6)
        #expect(rnn_stream_get_state(live, 2, &state, 6) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_stream_get_state: index is 2, but the stream has 2 sequences (0 ... 1)")
        #expect(rnn_stream_get_state(live, -1, &state, 6) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(rnn_stream_get_state(live, 0, nil, 6) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_stream_get_state(live, 0, &state, 5) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage == "rnn_stream_get_state: state_len is 5, but the model's state has 6 values")
        #expect(state.allSatisfy { $0 == 42 })
        #expect(rnn_stream_set_state(live, 0, state, 5) == RNN_ERROR_INPUT_SIZE)
        #expect(rnn_stream_set_state(live, 0, state, 7) == RNN_ERROR_INPUT_SIZE)
        #expect(rnn_stream_set_state(live, 0, nil, 6) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_stream_set_state(live, 9, state, 6) == RNN_ERROR_INVALID_ARGUMENT)
        state[4] = .infinity
        #expect(rnn_stream_set_state(live, 0, state, 6) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_stream_set_state: state[4] is inf, expected a finite value")
        #expect(Self.state(live, 0).allSatisfy { $0 == 0 })
        #expect(rnn_stream_reset(live, 2) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(rnn_stream_reset(nil, 0) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_stream_reset_all(nil) == RNN_ERROR_NULL_ARGUMENT)

        // Handles: a model is not a stream, a stream is not a model, a freed stream is freed.
        #expect(rnn_stream_reset_all(model) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.contains("stream handle 0x524e4e") && lastMessage.hasSuffix("is a model handle, not a stream"),
                "\(lastMessage)")
        var classCount = 0
        #expect(rnn_model_class_count(live, &classCount) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.hasSuffix("is a stream handle, not a model"), "\(lastMessage)")
        #expect(rnn_stream_step(OpaquePointer(bitPattern: 0xdead_bee0), values, values.count, &out, out.count) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.hasSuffix("did not come from rnn_stream_create"), "\(lastMessage)")
        #expect(rnn_stream_free(live) == RNN_OK)
        #expect(rnn_stream_state_size(live, &size) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.hasSuffix("was already freed"), "\(lastMessage)")
        #expect(rnn_stream_free(live) == RNN_ERROR_INVALID_HANDLE)  // double free
        #expect(rnn_stream_free(nil) == RNN_OK)
        #expect(rnn_model_free(model) == RNN_OK)
    }

    @Test func aStreamKeepsItsModelAliveAfterRnnModelFree() throws {
        let model = try TestModels.load(CAPIKindTests.gru)
        let stream = try Self.stream(model, count: 1)
        let step = [Float](repeating: 0.25, count: 5)
        let before = try #require(Self.step(stream, step, outputs: 3))
        #expect(rnn_model_free(model) == RNN_OK)
        var kind = rnn_input_kind(rawValue: 0)
        #expect(rnn_model_input_kind(model, &kind) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_stream_reset_all(stream) == RNN_OK)
        #expect(Self.step(stream, step, outputs: 3) == before)
        #expect(rnn_stream_free(stream) == RNN_OK)
    }

    /// Eight threads step one shared stream with the same step: the calls are serialized, so after
    /// 8 x 25 of them the state is that of 200 sequential steps, bit for bit (with equal steps every
    /// order gives the same). Meanwhile each thread also runs its own stream over its own sequence
    /// and must reproduce the single-thread outputs bit for bit. Run under TSan by `make tsan`.
    @Test func threadsSharingAStreamAndOwningStreamsStayConsistent() throws {
        let model = try TestModels.load(CAPIKindTests.perStep)
        defer { _ = rnn_model_free(model) }
        let width = 4, classes = 3, threads = 8, rounds = 25
        let shared = try Self.stream(model, count: 2)
        defer { _ = rnn_stream_free(shared) }
        let step = [Float](repeating: 0.25, count: 2 * width)
        let own = CAPIKindTests.padded(width: width, steps: rounds, lengths: [Int](repeating: rounds, count: threads), seed: 7)
        // The single-thread references.
        let sequential = try Self.stream(model, count: 2)
        defer { _ = rnn_stream_free(sequential) }
        for _ in 0..<(threads * rounds) { _ = Self.step(sequential, step, outputs: 2 * classes) }
        var references: [[Float]] = []
        for t in 0..<threads {
            let single = try Self.stream(model, count: 1)
            var outputs: [Float] = []
            for r in 0..<rounds {
                outputs += try #require(Self.step(single, Array(own[((t * rounds + r) * width)..<((t * rounds + r + 1) * width)]), outputs: classes))
            }
            references.append(outputs)
            _ = rnn_stream_free(single)
        }

        let expected = references
        let sharedBits = UInt(bitPattern: Int(bitPattern: shared)), modelBits = UInt(bitPattern: Int(bitPattern: model))
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let shared = OpaquePointer(bitPattern: sharedBits), model = OpaquePointer(bitPattern: modelBits)
            var mine: OpaquePointer?
            guard rnn_stream_create(model, 1, &mine) == RNN_OK else { return failures.increment() }
            var outputs: [Float] = []
            var out = [Float](repeating: 0, count: 2 * classes)
            for r in 0..<rounds {
                if rnn_stream_step(shared, step, step.count, &out, out.count) != RNN_OK { failures.increment() }
                let values = Array(own[((t * rounds + r) * width)..<((t * rounds + r + 1) * width)])
                if rnn_stream_step(mine, values, width, &out, classes) != RNN_OK { failures.increment() }
                outputs += out.prefix(classes)
            }
            if outputs != expected[t] { failures.increment() }
            if rnn_stream_free(mine) != RNN_OK { failures.increment() }
        }
        #expect(failures.value == 0)
        #expect(Self.state(shared, 0) == Self.state(sequential, 0))
        #expect(Self.state(shared, 1) == Self.state(sequential, 1))
    }

    /// A stream freed while other threads step it: each call either completes or fails with
    /// RNN_ERROR_INVALID_HANDLE, never crashes (the handle table hands each call a strong reference).
    @Test func freeingAStreamWhileThreadsStepItIsSafe() throws {
        let model = try TestModels.load(CAPIKindTests.gru)
        defer { _ = rnn_model_free(model) }
        let stream = try Self.stream(model, count: 4)
        let bits = UInt(bitPattern: Int(bitPattern: stream))
        let unexpected = Counter(), stopped = Counter(), steps = Counter()
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                let stream = OpaquePointer(bitPattern: bits)
                let values = [Float](repeating: 0.5, count: 20)
                var out = [Float](repeating: 0, count: 12)
                for _ in 0..<1_000_000 {
                    let status = rnn_stream_step(stream, values, values.count, &out, out.count)
                    if status == RNN_ERROR_INVALID_HANDLE { return stopped.increment() }
                    if status != RNN_OK { return unexpected.increment() }
                    steps.increment()
                }
            }
        }
        while steps.value < 40 {}  // the workers are stepping
        #expect(rnn_stream_free(stream) == RNN_OK)
        group.wait()
        #expect(unexpected.value == 0)
        #expect(stopped.value == 4)
    }
}
