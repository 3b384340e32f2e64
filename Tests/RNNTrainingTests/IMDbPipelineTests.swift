import RNNCore
import Foundation
import RNNDatasets
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// The IMDb text path end to end: tokenizer agreement with the Python reference reader on real
/// reviews, the runtime against the trainer, and padding invariance in the runtime.
struct IMDbPipelineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let archive = root.appendingPathComponent("../shared/datasets/aclImdb_v1_labeled.tar.gz").standardized.path
    static let script = root.appendingPathComponent("spec/reference/rnnm.py").path
    static let haveData = FileManager.default.fileExists(atPath: archive)

    /// A small random text model over `vocabulary` (H = 8 unless given, D = 6; an LSTM unless `architecture` says otherwise).
    static func randomModel(vocabulary: [String], maxLength: Int = 400, seed: UInt64 = 7, hiddenSize: Int = 8,
                            cell: RecurrentCell = .lstm, bidirectional: Bool = false, pooling: TimePooling = .last)
        -> (ModelFile, LSTMParameters<Float>) {
        let a = LSTMArchitecture(inputSize: 6, hiddenSize: hiddenSize, classCount: 2, cell: cell, bidirectional: bidirectional,
                                 pooling: pooling, vocabularySize: vocabulary.count + 2)
        var p = LSTMParameters<Float>(architecture: a, seed: seed)
        var rng = Xoshiro256StarStar(seed: seed)
        for i in p.values.indices { p.values[i] += Float(rng.nextDouble(in: -0.3, 0.3)) }
        let tokens = TokenInput(maxLength: maxLength, truncation: .start, vocabulary: vocabulary)
        let file = p.modelFile(input: .tokens(tokens), labels: ["negative", "positive"], provenance: Provenance(producer: "tests"))
        return (file, p)
    }

    @Test(.enabled(if: haveData, "needs ../shared/datasets/aclImdb_v1_labeled.tar.gz"))
    func swiftAndPythonTokenizeOneThousandTestReviewsIdentically() throws {
        let splits = try IMDb.load(from: Self.archive)
        // Every 25th test review: both classes, all lengths; newlines (none expected) become spaces.
        let texts = stride(from: 0, to: splits.test.count, by: 25).prefix(1000).map {
            splits.test[$0].text.replacingOccurrences(of: "\n", with: " ")
        }
        #expect(texts.count == 1000)
        let vocabulary = TextVocabulary.build(from: texts, size: 5000)
        let (file, _) = Self.randomModel(vocabulary: vocabulary, maxLength: 300)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imdb-tok-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let modelPath = dir.appendingPathComponent("m.rnnm").path, textPath = dir.appendingPathComponent("t.txt").path
        try ModelWriter.write(file, to: modelPath)
        try Data(texts.joined(separator: "\n").utf8 + [10]).write(to: URL(fileURLWithPath: textPath))
        let output = try Self.python(["tokenize", modelPath, "--texts", textPath])
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1000)
        let encoder = TokenEncoder(file.metadata.input.tokens!)
        var mismatches = 0, tokens = 0, truncated = 0
        for (text, line) in zip(texts, lines) {
            let python = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [Int]
            let swift = encoder.tokenIDs(text).map(Int.init)
            tokens += swift.count
            if encoder.allTokenIDs(text).count > 300 { truncated += 1 }
            if python != swift { mismatches += 1 }
        }
        #expect(mismatches == 0, "\(mismatches) of 1000 reviews tokenize differently")
        #expect(tokens > 150_000 && truncated > 50)  // real reviews, and truncation exercised

        // The float64 Python forward pass agrees with the runtime on the first 12 reviews.
        let sample = dir.appendingPathComponent("s.txt").path
        try Data(texts.prefix(12).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: sample))
        let json = try JSONSerialization.jsonObject(with: Data(try Self.python(["forward", modelPath, "--texts", sample]).utf8)) as! [String: Any]
        let expected = json["logits"] as! [[Double]]
        let classifier = try Model(file)
        let got = try classifier.classify(tokenSequences: texts.prefix(12).map(encoder.tokenIDs)).logits
        for (i, row) in expected.enumerated() {
            for k in 0..<2 { #expect(abs(Double(got[i * 2 + k]) - row[k]) <= 1e-4 * max(1, abs(row[k])), "review \(i) class \(k)") }
        }
    }

    static func python(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// Every LSTM implementation this CPU can run (the portable path and each fused kernel variant).
    static let kernels: [StepKernel] = [.portable] + FusedKernel.supported.filter { $0 != .none }.map { .fused($0) }

    /// Hidden sizes 8 (one group of 8 units) and 13 (padded to 16 in the fused kernel's layout); an
    /// LSTM, and a bidirectional GRU pooled by max and by mean (format 1.3 text models).
    @Test(arguments: [(8, RecurrentCell.lstm, false, TimePooling.last), (13, .lstm, false, .last),
                      (8, .gru, true, .max), (13, .gru, true, .mean)])
    func runtimeAgreesWithTheTrainerFoldedOrNotAndPaddingChangesNothing(hiddenSize: Int, cell: RecurrentCell,
                                                                        bidirectional: Bool, pooling: TimePooling) throws {
        for kernel in Self.kernels {
            try checkRuntimeAgainstTrainer(hiddenSize: hiddenSize, cell: cell, bidirectional: bidirectional, pooling: pooling,
                                           kernel: kernel)
        }
    }

    func checkRuntimeAgainstTrainer(hiddenSize: Int, cell: RecurrentCell, bidirectional: Bool, pooling: TimePooling,
                                    kernel: StepKernel) throws {
        let vocabulary = ["the", "movie", "good", "bad", "plot", "actor", "boring", "fun"]
        let (file, p) = Self.randomModel(vocabulary: vocabulary, maxLength: 6, hiddenSize: hiddenSize, cell: cell,
                                         bidirectional: bidirectional, pooling: pooling)
        let bytes = try ModelWriter.encode(file)
        let folded = try Model(try ModelReader.decode(bytes))
        let plain = try Model(try ModelReader.decode(bytes), options: LoadOptions(embeddingFoldingLimitBytes: 0))
        // The runtime folds the embedding into a unidirectional LSTM's input projection only.
        #expect(folded.isEmbeddingFolded == (cell == .lstm && !bidirectional) && !plain.isEmbeddingFolded)
        let one = ClassifyOptions(kernel: kernel), two = ClassifyOptions(threads: 2, blockSize: 2, kernel: kernel)
        let texts = ["The movie was GOOD, good fun!", "bad<br />boring plot", "", "zzz unknown words only",
                     "the the the movie movie plot actor fun bad good boring"]  // longer than max_length 6
        let encoder = TokenEncoder(file.metadata.input.tokens!)
        let ids = texts.map(encoder.tokenIDs)
        #expect(ids[4].count == 6 && ids[2].isEmpty && ids[3] == [1, 1, 1, 1])
        let trainer = tokenLogits(parameters: p, texts: PackedTokens(ids))
        for runtime in [try folded.classify(tokenSequences: ids, options: one).logits,
                        try plain.classify(tokenSequences: ids, options: two).logits] {
            for i in trainer.indices { #expect(abs(runtime[i] - trainer[i]) <= 1e-5 * max(1, abs(trainer[i])), "\(kernel)") }
        }
        // Each text alone gives the same logits as in the mixed-length batch: no padded step is run.
        // (Not bit for bit: OpenBLAS blocks a GEMM of 1 row differently from one of 5, which moves
        // the last bit; a padded step, by contrast, would change the state by far more.)
        let batched = try plain.classify(tokenSequences: ids, options: one).logits
        for (i, sequence) in ids.enumerated() {
            for (k, value) in try plain.classify(tokenSequences: [sequence], options: one).logits.enumerated() {
                #expect(abs(value - batched[2 * i + k]) <= 1e-6 * max(1, abs(value)))
            }
        }
        // One extra step with the padding id 0 would change the result: the check above has teeth.
        let padded = try folded.classify(tokenSequences: [ids[1] + [0]], options: one).logits
        #expect(abs(padded[0] - batched[2]) > 1e-4 || abs(padded[1] - batched[3]) > 1e-4)
        let result = try folded.classify(texts: texts, options: one)
        #expect(result.lengths == ids.map(\.count))
        let predictions = (0..<result.count).map { result[$0] }
        #expect(predictions.allSatisfy { abs($0.probabilities.reduce(0, +) - 1) < 1e-5 && $0.probability >= 0.5 })
        // A text longer than max_length given as ids is truncated by the file's rule, like the encoder does.
        let long = try folded.classify(tokenSequences: [encoder.allTokenIDs(texts[4])], options: one)
        let short = try folded.classify(tokenSequences: [ids[4]], options: one)
        #expect(long.lengths == [6] && long.logits == short.logits)
        // An image model refuses texts, and a text model images, with one clear error.
        #expect(throws: RuntimeError.inputKindMismatch(model: .tokens, given: .imageRows)) { try folded.classify(pixels: [0]) }
    }
}
