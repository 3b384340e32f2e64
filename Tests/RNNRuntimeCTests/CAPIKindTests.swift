import CRNNRuntime
import RNNFormat
import RNNRuntime
import Testing

/// The C API 1.1 over every kind of model: the kind queries, feature sequences with lengths, texts,
/// and the 1.0 image functions given a model of another kind. Results are compared bit for bit with
/// the Swift runtime's own entry point for the same batch (the C layer adds checks, never arithmetic).
@Suite struct CAPIKindTests {
    static let gru = TestModels.features(width: 5, maxLength: 9)
    static let perStep = TestModels.features(width: 4, maxLength: 7, cell: .lstm, returns: .sequence, seed: 2)
    static let values = TestModels.features(width: 3, maxLength: 6, cell: .lstm, classes: 2, output: .values, seed: 3)
    static let bidirectional = TestModels.features(width: 4, maxLength: 8, bidirectional: true, seed: 4)

    var lastMessage: String { CAPITests.lastMessage }

    // MARK: Queries

    @Test func queriesReportEveryKindOfModel() throws {
        let cases: [(String, ModelFile, rnn_input_kind, rnn_output_kind, perStep: CInt, canStream: CInt)] = [
            ("image", try TestModels.fixture("tiny-h4.rnnm"), RNN_INPUT_IMAGE_ROWS, RNN_OUTPUT_LOGITS, 0, 1),
            ("per-step image", try TestModels.fixture("tiny-h4.rnnm", TestModels.perStep), RNN_INPUT_IMAGE_ROWS, RNN_OUTPUT_LOGITS, 1, 1),
            ("text", try TestModels.fixture("text-tiny.rnnm"), RNN_INPUT_TOKENS, RNN_OUTPUT_LOGITS, 0, 0),
            ("gru", Self.gru, RNN_INPUT_FEATURES, RNN_OUTPUT_LOGITS, 0, 1),
            ("per-step lstm", Self.perStep, RNN_INPUT_FEATURES, RNN_OUTPUT_LOGITS, 1, 1),
            ("values", Self.values, RNN_INPUT_FEATURES, RNN_OUTPUT_VALUES, 0, 1),
            ("bidirectional", Self.bidirectional, RNN_INPUT_FEATURES, RNN_OUTPUT_LOGITS, 0, 0),
        ]
        for (name, file, kind, output, perStep, canStream) in cases {
            let handle = try TestModels.load(file)
            defer { _ = rnn_model_free(handle) }
            var foundKind = rnn_input_kind(rawValue: 0), foundOutput = rnn_output_kind(rawValue: 0)
            var foundPerStep: CInt = -1, foundCanStream: CInt = -1
            #expect(rnn_model_input_kind(handle, &foundKind) == RNN_OK && foundKind == kind, "\(name)")
            #expect(rnn_model_output_kind(handle, &foundOutput) == RNN_OK && foundOutput == output, "\(name)")
            #expect(rnn_model_outputs_per_step(handle, &foundPerStep) == RNN_OK && foundPerStep == perStep, "\(name)")
            #expect(rnn_model_can_stream(handle, &foundCanStream) == RNN_OK && foundCanStream == canStream, "\(name)")

            // rnn_model_can_stream says what rnn_stream_create does (the runtime's own rule).
            var stream: OpaquePointer? = OpaquePointer(bitPattern: 16)
            let created = rnn_stream_create(handle, 1, &stream)
            #expect(created == (canStream == 1 ? RNN_OK : RNN_ERROR_UNSUPPORTED_MODEL), "\(name): \(lastMessage)")
            #expect((stream != nil) == (canStream == 1))
            #expect(rnn_stream_free(stream) == RNN_OK)

            // The input shape of every kind: (max_length or height, values per step).
            var height = 0, width = 0, maxLength = 0
            #expect(rnn_model_input_shape(handle, &height, &width) == RNN_OK)
            #expect((height, width) == (file.metadata.input.timeSteps, file.metadata.input.width), "\(name)")
            let shape = rnn_model_feature_shape(handle, &width, &maxLength)
            if kind == RNN_INPUT_FEATURES {
                #expect(shape == RNN_OK && (width, maxLength) == (file.metadata.input.width, file.metadata.input.timeSteps))
            } else {
                #expect(shape == RNN_ERROR_UNSUPPORTED_MODEL, "\(name)")
                #expect(lastMessage.hasSuffix("use rnn_model_input_shape"), "\(lastMessage)")
            }
        }
    }

    @Test func kindQueriesCheckTheirArguments() throws {
        let handle = try TestModels.load(Self.gru)
        var kind = rnn_input_kind(rawValue: 0), output = rnn_output_kind(rawValue: 0)
        var flag: CInt = 0, width = 0, maxLength = 0
        #expect(rnn_model_input_kind(nil, &kind) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_model_input_kind: model is NULL")
        #expect(rnn_model_input_kind(handle, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_model_input_kind: out_kind is NULL")
        #expect(rnn_model_output_kind(handle, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_model_outputs_per_step(handle, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_model_can_stream(handle, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(rnn_model_feature_shape(handle, &width, nil) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_model_feature_shape: out_max_length is NULL")
        #expect(rnn_model_feature_shape(handle, nil, &maxLength) == RNN_ERROR_NULL_ARGUMENT)
        // Every kind model's normalization is the neutral (1, 0): the standardization is inside.
        var scale: Float = 0, offset: Float = 9
        #expect(rnn_model_input_normalization(handle, &scale, &offset) == RNN_OK && (scale, offset) == (1, 0))
        #expect(rnn_model_free(handle) == RNN_OK)
        #expect(rnn_model_input_kind(handle, &kind) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_model_output_kind(handle, &output) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_model_outputs_per_step(handle, &flag) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_model_can_stream(handle, &flag) == RNN_ERROR_INVALID_HANDLE)
        #expect(rnn_model_feature_shape(handle, &width, &maxLength) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.contains("already freed"))
    }

    // MARK: Feature sequences

    /// `count` sequences padded to `steps`, lengths as given, values from `seed`; padding is NaN
    /// (never read) unless `padding` says otherwise.
    static func padded(width: Int, steps: Int, lengths: [Int], seed: Int, padding: Float = .nan) -> [Float] {
        var values = [Float](repeating: padding, count: lengths.count * steps * width)
        for (i, length) in lengths.enumerated() {
            for k in 0..<(length * width) {
                values[i * steps * width + k] = Float((k * 37 + i * 101 + seed * 7) % 97) / 24 - 2
            }
        }
        return values
    }

    @Test(arguments: ["gru", "per-step", "values"])
    func featureSequencesMatchTheRuntimeBitForBit(_ name: String) throws {
        let file = ["gru": Self.gru, "per-step": Self.perStep, "values": Self.values][name]!
        let model = try Model(file)
        let handle = try TestModels.load(file)
        defer { _ = rnn_model_free(handle) }
        let width = file.metadata.input.width, steps = file.metadata.input.timeSteps, classes = model.classCount
        let lengths = [1, steps, 3, steps - 1, 2]
        let values = Self.padded(width: width, steps: steps, lengths: lengths, seed: 1)
        let expected = try values.withUnsafeBufferPointer { try model.classify(paddedSequences: $0, steps: steps, lengths: lengths) }
        // The same sequences unpadded (Model.classify(sequences:)) give the same outputs.
        let unpadded = lengths.enumerated().map { i, length in Array(values[(i * steps * width)..<(i * steps * width + length * width)]) }
        #expect(try model.classify(sequences: unpadded).logits == expected.logits)

        let rows = expected.rows
        #expect(rows == (file.metadata.outputsPerStep ? lengths.reduce(0, +) : lengths.count))
        var logits = [Float](repeating: 42, count: rows * classes + 1)
        #expect(rnn_classify_features(handle, values, values.count, lengths.count, steps, lengths, &logits, logits.count) == RNN_OK,
                "\(lastMessage)")
        #expect(Array(logits.prefix(rows * classes)) == expected.logits)
        #expect(logits.last == 42)  // nothing past the result
        if file.metadata.output == .logits {
            var probabilities = [Float](repeating: 42, count: rows * classes)
            var predicted = [Int32](repeating: -1, count: rows)
            #expect(rnn_classify_features_probabilities(handle, values, values.count, lengths.count, steps, lengths,
                                                        &probabilities, probabilities.count) == RNN_OK)
            #expect(rnn_classify_features_classes(handle, values, values.count, lengths.count, steps, lengths,
                                                  &predicted, predicted.count) == RNN_OK)
            #expect(probabilities == expected.probabilities)
            #expect(predicted.map(Int.init) == expected.predictions)
        } else {
            var out = [Float](repeating: 42, count: rows * classes)
            var predicted = [Int32](repeating: -1, count: rows)
            #expect(rnn_classify_features_probabilities(handle, values, values.count, lengths.count, steps, lengths, &out, out.count)
                    == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(lastMessage.contains("model.output 'values'"), "\(lastMessage)")
            #expect(rnn_classify_features_classes(handle, values, values.count, lengths.count, steps, lengths, &predicted, predicted.count)
                    == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(out.allSatisfy { $0 == 42 } && predicted.allSatisfy { $0 == -1 })
        }

        // lengths NULL: every sequence is `steps` long.
        let full = Self.padded(width: width, steps: steps, lengths: [steps, steps], seed: 2)
        let whole = try full.withUnsafeBufferPointer { try model.classify(paddedSequences: $0, steps: steps, lengths: [steps, steps]) }
        var wholeLogits = [Float](repeating: 0, count: whole.logits.count)
        #expect(rnn_classify_features(handle, full, full.count, 2, steps, nil, &wholeLogits, wholeLogits.count) == RNN_OK)
        #expect(wholeLogits == whole.logits)
        // count 0: nothing to read or write.
        #expect(rnn_classify_features(handle, nil, 0, 0, steps, nil, nil, 0) == RNN_OK)
    }

    @Test func featureSequencesCheckEveryArgumentInOrder() throws {
        let handle = try TestModels.load(Self.perStep)
        defer { _ = rnn_model_free(handle) }
        let width = 4, steps = 7, classes = 3
        let lengths = [2, 7, 3]
        let values = Self.padded(width: width, steps: steps, lengths: lengths, seed: 3)
        var out = [Float](repeating: 42, count: 12 * classes)  // per-step: 2 + 7 + 3 rows
        func call(_ values: [Float]? = nil, length: Int? = nil, count: Int = 3, steps: Int = 7, lengths: [Int]? = [2, 7, 3],
                  outLength: Int? = nil) -> rnn_status {
            let values = values ?? Self.padded(width: width, steps: 7, lengths: [2, 7, 3], seed: 3)
            return rnn_classify_features(handle, values, length ?? values.count, count, steps, lengths, &out, outLength ?? out.count)
        }
        #expect(call() == RNN_OK)

        #expect(rnn_classify_features(nil, values, values.count, 3, steps, lengths, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_classify_features: model is NULL")
        #expect(rnn_classify_features(handle, nil, values.count, 3, steps, lengths, &out, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_classify_features: values is NULL")
        #expect(rnn_classify_features(handle, values, values.count, 3, steps, lengths, nil, out.count) == RNN_ERROR_NULL_ARGUMENT)
        #expect(lastMessage == "rnn_classify_features: out_logits is NULL")
        #expect(call(count: -1) == RNN_ERROR_INVALID_ARGUMENT)  // SIZE_MAX
        #expect(lastMessage.contains("count is 18446744073709551615, above the largest supported size"), "\(lastMessage)")
        #expect(call(count: Int.max / 2, steps: 5) == RNN_ERROR_INVALID_ARGUMENT)  // count x steps x width overflows
        #expect(lastMessage.contains("overflows size_t"), "\(lastMessage)")
        #expect(call(length: values.count - 1) == RNN_ERROR_INPUT_SIZE)
        #expect(lastMessage == "rnn_classify_features: values_len is 83, but 3 sequences of 7 steps x 4 features need 84 values")
        #expect(call(count: 2) == RNN_ERROR_INPUT_SIZE)
        #expect(call(lengths: [2, 0, 3]) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_classify_features: lengths[1] is 0, expected 1 ... 7 (steps is 7, the model's max_length 7)")
        #expect(call(lengths: [2, 8, 3]) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(call(lengths: [2, -1, 3]) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage.contains("lengths[1] is 18446744073709551615"), "\(lastMessage)")
        // A padded array wider than the model's max_length: each length must still fit max_length.
        let wide = Self.padded(width: width, steps: 9, lengths: [9], seed: 4)
        #expect(rnn_classify_features(handle, wide, wide.count, 1, 9, [8], &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage.contains("expected 1 ... 7 (steps is 9, the model's max_length 7)"), "\(lastMessage)")
        #expect(rnn_classify_features(handle, wide, wide.count, 1, 9, [7], &out, out.count) == RNN_OK)
        #expect(rnn_classify_features(handle, wide, wide.count, 1, 9, nil, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage.contains("lengths is NULL, so every sequence has steps = 9 steps; expected 1 ... 7"), "\(lastMessage)")
        #expect(rnn_classify_features(handle, [], 0, 2, 0, nil, &out, out.count) == RNN_ERROR_INVALID_ARGUMENT)  // 0 steps

        out = [Float](repeating: 42, count: 12 * classes)
        #expect(call(outLength: 12 * classes - 1) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage == "rnn_classify_features: out_len is 35, but 3 sequences (12 steps in all) x 3 classes need 36 floats")
        var predicted = [Int32](repeating: -1, count: 12)
        #expect(rnn_classify_features_classes(handle, values, values.count, 3, steps, lengths, &predicted, 11) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage.hasSuffix("out_len is 11, but 3 sequences (12 steps in all) need 12 classes"), "\(lastMessage)")
        // A NaN inside a sequence (not in its padding) names the sequence, step and feature.
        var bad = values
        bad[1 * steps * width + 5 * width + 2] = .nan
        #expect(call(bad) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(lastMessage == "rnn_classify_features: sequence 1, step 5, feature 2: expected a finite number, found nan")
        bad[1 * steps * width + 5 * width + 2] = -.infinity
        #expect(call(bad) == RNN_ERROR_INVALID_ARGUMENT)
        #expect(out.allSatisfy { $0 == 42 } && predicted.allSatisfy { $0 == -1 })

        // A count whose results no process can hold: refused before anything is allocated or read.
        let huge = 1 << 44
        #expect(rnn_classify_features(handle, values, huge * width, huge, 1, nil, &out, huge * classes) == RNN_ERROR_LIMIT_EXCEEDED)
        #expect(lastMessage.contains("out of memory"), "\(lastMessage)")

        // Another kind of model, a freed handle, a stream handle.
        let image = try CAPITests.load("tiny-h4.rnnm")
        #expect(rnn_classify_features(image, values, values.count, 3, steps, lengths, &out, out.count) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(lastMessage == "rnn_classify_features: the model reads images (input kind 'image_rows'), not feature sequences: "
            + "use rnn_classify_u8* or rnn_classify_f32*")
        #expect(rnn_model_free(image) == RNN_OK)
        #expect(rnn_classify_features(image, values, values.count, 3, steps, lengths, &out, out.count) == RNN_ERROR_INVALID_HANDLE)
        var stream: OpaquePointer?
        #expect(rnn_stream_create(handle, 1, &stream) == RNN_OK)
        #expect(rnn_classify_features(stream, values, values.count, 3, steps, lengths, &out, out.count) == RNN_ERROR_INVALID_HANDLE)
        #expect(lastMessage.contains("is a stream handle, not a model"), "\(lastMessage)")
        #expect(rnn_stream_free(stream) == RNN_OK)
        #expect(out.allSatisfy { $0 == 42 })
    }

    // MARK: Texts

    /// Calls `body` with `texts` as an array of NUL-terminated C strings (their bytes as given).
    static func withCStrings<R>(_ texts: [[UInt8]], _ body: ([UnsafePointer<CChar>?]) throws -> R) rethrows -> R {
        let pointers = texts.map { bytes in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (k, byte) in bytes.enumerated() { p[k] = CChar(bitPattern: byte) }
            p[bytes.count] = 0
            return p
        }
        defer { pointers.forEach { $0.deallocate() } }
        return try body(pointers.map { UnsafePointer($0) })
    }

    @Test func textModelsLoadAndClassifyTextsLikeTheRuntime() throws {
        // A 1.0 library refused text models at load; 1.1 loads them.
        let handle = try CAPITests.load("text-tiny.rnnm")
        defer { _ = rnn_model_free(handle) }
        let model = try Model(contentsOf: CAPITests.fixture("models/text-tiny.rnnm"))
        let words = model.input.tokens!.vocabulary
        let texts = ["", words.joined(separator: " "), "\(words[0].uppercased()), unknown \(words[1])!",
                     Array(repeating: words[2], count: 40).joined(separator: " ")]
        let expected = try model.classify(texts: texts)
        let classes = model.classCount
        var logits = [Float](repeating: 42, count: texts.count * classes)
        var probabilities = logits
        var predicted = [Int32](repeating: -1, count: texts.count)
        Self.withCStrings(texts.map { Array($0.utf8) }) { pointers in
            #expect(rnn_classify_texts(handle, pointers, texts.count, &logits, logits.count) == RNN_OK, "\(lastMessage)")
            #expect(rnn_classify_texts_probabilities(handle, pointers, texts.count, &probabilities, probabilities.count) == RNN_OK)
            #expect(rnn_classify_texts_classes(handle, pointers, texts.count, &predicted, predicted.count) == RNN_OK)
        }
        #expect(logits == expected.logits)
        #expect(probabilities == expected.probabilities)
        #expect(predicted.map(Int.init) == expected.predictions)

        // Bytes that are not UTF-8 are tokenized by the same byte rules (spec §6.2.1), not repaired:
        // the result is that of the runtime's byte-level pipeline.
        let raw: [UInt8] = Array("\(words[0]) ".utf8) + [0xFF, 0xFE, 0x20] + Array(words[1].utf8)
        var sequence = TokenSequence(model.encoder!)
        sequence.append(raw)
        let byteLevel = try model.classify(tokenSequences: [sequence.finish()])
        var rawLogits = [Float](repeating: 0, count: classes)
        Self.withCStrings([raw]) { pointers in
            #expect(rnn_classify_texts(handle, pointers, 1, &rawLogits, classes) == RNN_OK)
        }
        #expect(rawLogits == byteLevel.logits)
        #expect(rnn_classify_texts(handle, nil, 0, nil, 0) == RNN_OK)
    }

    @Test func textFunctionsCheckEveryArgumentInOrder() throws {
        let handle = try CAPITests.load("text-tiny.rnnm")
        defer { _ = rnn_model_free(handle) }
        var out = [Float](repeating: 42, count: 4)
        var predicted = [Int32](repeating: -1, count: 2)
        try Self.withCStrings([Array("a film".utf8), Array("another".utf8)]) { pointers in
            #expect(rnn_classify_texts(nil, pointers, 2, &out, 4) == RNN_ERROR_NULL_ARGUMENT)
            #expect(rnn_classify_texts(handle, nil, 2, &out, 4) == RNN_ERROR_NULL_ARGUMENT)
            #expect(lastMessage == "rnn_classify_texts: texts is NULL")
            #expect(rnn_classify_texts(handle, pointers, 2, nil, 4) == RNN_ERROR_NULL_ARGUMENT)
            #expect(rnn_classify_texts(handle, [pointers[0], nil], 2, &out, 4) == RNN_ERROR_NULL_ARGUMENT)
            #expect(lastMessage == "rnn_classify_texts: texts[1] is NULL")
            #expect(rnn_classify_texts(handle, pointers, -1, &out, 4) == RNN_ERROR_INVALID_ARGUMENT)
            #expect(rnn_classify_texts(handle, pointers, 2, &out, 3) == RNN_ERROR_BUFFER_TOO_SMALL)
            #expect(lastMessage == "rnn_classify_texts: out_len is 3, but 2 texts x 2 classes need 4 floats")
            #expect(rnn_classify_texts_classes(handle, pointers, 2, &predicted, 1) == RNN_ERROR_BUFFER_TOO_SMALL)
            #expect(rnn_classify_texts_probabilities(handle, pointers, 1 << 58, &out, Int.max) == RNN_ERROR_LIMIT_EXCEEDED)
            #expect(out.allSatisfy { $0 == 42 } && predicted.allSatisfy { $0 == -1 })

            // Text functions with other models, other functions with a text model.
            let image = try CAPITests.load("tiny-h4.rnnm")
            #expect(rnn_classify_texts(image, pointers, 2, &out, 4) == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(lastMessage == "rnn_classify_texts: the model reads images (input kind 'image_rows'), not texts: "
                + "use rnn_classify_u8* or rnn_classify_f32*")
            _ = rnn_model_free(image)
            let pixels = [UInt8](repeating: 0, count: 8)
            #expect(rnn_classify_u8(handle, pixels, 8, 1, &out, 4) == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(lastMessage == "rnn_classify_u8: the model reads texts (input kind 'tokens'), not images: use rnn_classify_texts*")
            #expect(rnn_classify_f32_classes(handle, [0], 1, 1, &predicted, 2) == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(rnn_classify_features(handle, [0], 1, 1, 1, nil, &out, 4) == RNN_ERROR_UNSUPPORTED_MODEL)
            var stream: OpaquePointer?
            #expect(rnn_stream_create(handle, 1, &stream) == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(lastMessage.contains("cannot be streamed: it reads text"), "\(lastMessage)")
            #expect(out.allSatisfy { $0 == 42 } && predicted.allSatisfy { $0 == -1 })

            // A per-step text model has as many rows as tokens, which the caller cannot size.
            let perStep = try TestModels.load(TestModels.fixture("text-tiny.rnnm", TestModels.perStep))
            #expect(rnn_classify_texts(perStep, pointers, 2, &out, 4) == RNN_ERROR_UNSUPPORTED_MODEL)
            #expect(lastMessage.contains("one output per token"), "\(lastMessage)")
            _ = rnn_model_free(perStep)
        }
    }

    // MARK: Image functions and 1.2 image models

    @Test func imageFunctionsRunPerStepAndValuesImageModels() throws {
        let count = 3
        let perStepFile = try TestModels.fixture("tiny-h4.rnnm", TestModels.perStep)
        let perStep = try TestModels.load(perStepFile)
        defer { _ = rnn_model_free(perStep) }
        let model = try Model(perStepFile)
        let height = model.input.height, classes = model.classCount
        let pixels = CAPITests.pixels(count: count, perImage: model.pixelsPerImage)
        let expected = try model.classify(pixels: pixels)
        #expect(expected.rows == count * height)
        var logits = [Float](repeating: 42, count: count * height * classes)
        var predicted = [Int32](repeating: -1, count: count * height)
        #expect(rnn_classify_u8(perStep, pixels, pixels.count, count, &logits, count * classes) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage == "rnn_classify_u8: out_len is 9, but 3 images x 5 steps x 3 classes need 45 floats")
        #expect(rnn_classify_u8(perStep, pixels, pixels.count, count, &logits, logits.count) == RNN_OK)
        #expect(rnn_classify_u8_classes(perStep, pixels, pixels.count, count, &predicted, predicted.count) == RNN_OK)
        #expect(logits == expected.logits)
        #expect(predicted.map(Int.init) == expected.predictions)

        let valuesFile = try TestModels.fixture("tiny-h4.rnnm") { $0.output = .values }
        let values = try TestModels.load(valuesFile)
        defer { _ = rnn_model_free(values) }
        var out = [Float](repeating: 42, count: count * classes)
        #expect(rnn_classify_u8_probabilities(values, pixels, pixels.count, count, &out, out.count) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(rnn_classify_f32_classes(values, nil, 0, 0, nil, 0) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(out.allSatisfy { $0 == 42 })
        #expect(rnn_classify_u8(values, pixels, pixels.count, count, &out, out.count) == RNN_OK)
        #expect(out == (try Model(valuesFile).classify(pixels: pixels)).logits)
        #expect(rnn_classify_u8(values, pixels, pixels.count, count, &out, out.count - 1) == RNN_ERROR_BUFFER_TOO_SMALL)
        #expect(lastMessage == "rnn_classify_u8: out_len is 8, but 3 images x 3 values need 9 floats")

        // A features model through the image functions: refused before its arguments are read.
        let features = try TestModels.load(Self.gru)
        defer { _ = rnn_model_free(features) }
        #expect(rnn_classify_u8(features, nil, 99, 7, nil, 0) == RNN_ERROR_UNSUPPORTED_MODEL)
        #expect(lastMessage == "rnn_classify_u8: the model reads feature sequences (input kind 'features'), not images: "
            + "use rnn_classify_features*")
    }
}

/// C API 1.2: image models (format 1.4) through the image functions, unchanged: `rnn_classify_u8` gives
/// the Swift runtime's logits bit for bit; the kind and channel queries; no stream.
@Suite struct CAPIImageModelTests {
    @Test(arguments: ["cnn-small.rnnm", "cnn-rgb-int8.rnnm"])
    func imageModelsRunThroughTheImageFunctions(_ name: String) throws {
        let file = try TestModels.fixture(name)
        let handle = try TestModels.load(file)
        defer { _ = rnn_model_free(handle) }
        var kind = rnn_input_kind(rawValue: 0), channels = 0, height = 0, width = 0, canStream: CInt = -1
        #expect(rnn_model_input_kind(handle, &kind) == RNN_OK && kind == RNN_INPUT_IMAGE)
        #expect(rnn_model_image_channels(handle, &channels) == RNN_OK && channels == file.metadata.input.channels)
        #expect(rnn_model_input_shape(handle, &height, &width) == RNN_OK && (height, width) == (file.metadata.input.height, file.metadata.input.width))
        #expect(rnn_model_can_stream(handle, &canStream) == RNN_OK && canStream == 0)
        var stream: OpaquePointer? = nil
        #expect(rnn_stream_create(handle, 1, &stream) == RNN_ERROR_UNSUPPORTED_MODEL && stream == nil)

        let per = channels * height * width, count = 7, classes = file.metadata.labels.count
        let pixels = (0..<(count * per)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 5) }
        var logits = [Float](repeating: .nan, count: count * classes)
        let status = rnn_classify_u8(handle, pixels, pixels.count, count, &logits, logits.count)
        #expect(status == RNN_OK, "\(CAPITests.lastMessage)")
        let expected = try Model(file).classify(pixels: pixels)
        #expect(logits == expected.logits)
        // A buffer that is not count x channels x height x width is refused, naming the image's size.
        #expect(rnn_classify_u8(handle, pixels, pixels.count - 1, count, &logits, logits.count) == RNN_ERROR_INPUT_SIZE)
        #expect(CAPITests.lastMessage.contains("\(channels)x\(height)x\(width)"), "\(CAPITests.lastMessage)")
    }
}
