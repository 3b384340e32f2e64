import Dispatch
import RNNCore
import RNNFormat

/// A loaded classifier of any kind the format describes, ready to run: immutable and safe to use
/// from many threads at once.
///
/// A `Model` applies the input contract stored in the file (spec §6.2), so callers pass raw input
/// exactly as it comes and never re-implement the preprocessing: image models take `u8` pixels as
/// an IDX file stores them, token models take text (the file's tokenizer runs here).
///
/// ```swift
/// let model = try Model(contentsOf: "models/mnist-lstm.rnnm")
/// let result = try model.classify(pixels: images)   // images.count == n * 784
/// print(result[0].label, result[0].probability)
///
/// let reviews = try Model(contentsOf: "models/imdb-lstm.rnnm")
/// print(try reviews.classify(texts: ["A wonderful film."])[0].label)
/// ```
///
/// Loading dequantizes every tensor to binary32 (except the int8 weights of recurrent layers that run
/// the int8 evaluation of spec §6.6, ``LoadOptions/evaluation``) and compiles the network (``NetworkCompiler``):
/// activation-free dense layers in front of an LSTM fold into its input weights (``DenseFolding``),
/// a token model's embedding folds into its first LSTM's input projection, and the gate rows are
/// laid out for the gate pass and the fused kernels. Every kind then runs through the same forward
/// pass. Loading has no process-wide side effects: in particular it leaves OpenBLAS's thread pool
/// alone (see ``setBLASThreads(_:)``).
///
/// **Folding the embedding.** The first LSTM computes `z = W_ih x + b_ih + W_hh h + b_hh` with
/// `x = E[k]`, row `k` of the embedding. For a token id, `W_ih E[k] + b_ih + b_hh` depends on `k`
/// alone, so the table `T = E W_ihᵀ + (b_ih + b_hh)` (`[V, 4H]`, row `k` = the whole input
/// projection of token `k`) replaces the embedding lookup *and* the input product: a step costs one
/// row copy per text. It is formed once at load, in Double, then rounded. It costs `V x 4H x 4`
/// bytes (41 MB for V = 20k, H = 128, against 5 MB for E at D = 64), so it is built only up to
/// ``LoadOptions/embeddingFoldingLimitBytes``; otherwise the runtime gathers `E` rows and multiplies.
public final class Model: Sendable {
    /// Architecture, input contract, labels and provenance, as stored in the file.
    public let metadata: ModelMetadata
    /// Token models: the file's text pipeline (tokenizer, vocabulary, truncation); nil for images.
    public let encoder: TokenEncoder?
    let network: CompiledNetwork

    /// Builds a model from an in-memory ``ModelFile``.
    ///
    /// - Throws: ``RuntimeError/unsupportedModel(_:)`` when the layers, tensors and labels do not
    ///   form a network this runtime can run (spec §6.1).
    public init(_ file: ModelFile, options: LoadOptions = LoadOptions()) throws(RuntimeError) {
        metadata = file.metadata
        encoder = file.metadata.input.tokens.map(TokenEncoder.init)
        var compiler = NetworkCompiler(file: file, folding: options.folding)
        compiler.embeddingFoldingLimit = max(0, options.embeddingFoldingLimitBytes)
        compiler.int8Evaluation = options.evaluation == .automatic
        network = try compiler.compile()
    }

    /// How many recurrent layers run the int8 evaluation (spec §6.6): 0 for a float file or with
    /// ``RecurrentEvaluation/float``.
    public var int8LayerCount: Int { network.recurrentStages.filter(\.isInt8).count }

    /// The int8 products' variant for this CPU (what int8 layers run with ``StepKernel/automatic``).
    public static var int8Kernel: Int8Kernel { Int8Kernel(Int8ISA.detected) }

    /// Reads, verifies (spec §7: checksum, versions, structure, values) and loads the model at `path`.
    ///
    /// - Throws: ``RuntimeError/unreadableModel(path:error:)`` for any file or format problem,
    ///   ``RuntimeError/unsupportedModel(_:)`` as ``init(_:options:)``.
    public convenience init(contentsOf path: String, options: LoadOptions = LoadOptions()) throws(RuntimeError) {
        let file: ModelFile
        do {
            file = try ModelReader.read(contentsOf: path)
        } catch {
            throw .unreadableModel(path: path, error: error)
        }
        try self.init(file, options: options)
    }

    /// Decodes and loads a model from the bytes of an `.rnnm` file.
    ///
    /// - Throws: ``RuntimeError/unreadableModel(path:error:)`` with a `nil` path, or as ``init(_:options:)``.
    public convenience init(bytes: [UInt8], options: LoadOptions = LoadOptions()) throws(RuntimeError) {
        let file: ModelFile
        do {
            file = try ModelReader.decode(bytes)
        } catch {
            throw .unreadableModel(path: nil, error: error)
        }
        try self.init(file, options: options)
    }

    /// Sets how many threads one OpenBLAS call may use, process-wide (OpenBLAS's pool is global).
    ///
    /// The portable path calls BLAS from each of a `classify` call's worker threads; a program that
    /// uses more than one worker should set this to 1 so that two levels of threading do not
    /// oversubscribe the cores (the command-line tools do). A library that embeds the runtime
    /// decides for itself: loading a model never changes it.
    public static func setBLASThreads(_ count: Int) {
        BLASThreads.set(count)
    }

    /// Class names, in output order.
    public var labels: [String] { metadata.labels }
    /// The input contract (spec §6.2).
    public var input: InputContract { metadata.input }
    /// What the model reads: image rows or tokens.
    public var inputKind: InputContract.Kind { metadata.input.kind }
    /// Image models: values per image (`height x width` image rows, `channels x height x width` for an
    /// `image` input); 0 for token and feature models.
    public var pixelsPerImage: Int {
        switch network.input {
        case .imageRows(let height, let width, _, _): height * width
        case .image(let channels, let height, let width, _, _): channels * height * width
        default: 0
        }
    }
    /// Number of classes.
    public var classCount: Int { network.classCount }
    /// How many dense layers were folded into LSTM input weights at load.
    public var foldedLayerCount: Int { network.foldedDenseLayers }
    /// Token models: whether the embedding was folded into the first LSTM's input projection.
    public var isEmbeddingFolded: Bool {
        if case .foldedEmbedding = network.input { return true }
        return false
    }
    /// Multiply-adds of one full-length sequence's forward pass as the runtime runs it (after
    /// folding, padded hidden sizes included): `2 x` this is the FLOP count benchmarks divide by the
    /// time. For image models, one image.
    public var multiplyAddsPerImage: Int { network.multiplyAddsPerSequence }

    /// Checks that images of `height x width` pixels fit this model's input contract.
    ///
    /// - Throws: ``RuntimeError/imageSizeMismatch(expectedHeight:expectedWidth:foundHeight:foundWidth:)``,
    ///   e.g. "expected 784 pixels per image (28x28), found 1024 (32x32)"; ``RuntimeError/inputKindMismatch(model:given:)``
    ///   for a token model.
    public func checkImageSize(height: Int, width: Int) throws(RuntimeError) {
        try checkImageShape(channels: 1, height: height, width: width)
    }

    /// Checks that images of `channels x height x width` values fit this model's input contract: an
    /// `image` model's shape (spec §6.2.3), or one channel of an `image_rows` model's `height x width`.
    ///
    /// - Throws: ``RuntimeError/imageShapeMismatch(expected:found:)``, ``RuntimeError/imageSizeMismatch(expectedHeight:expectedWidth:foundHeight:foundWidth:)``,
    ///   ``RuntimeError/inputKindMismatch(model:given:)``.
    public func checkImageShape(channels: Int, height: Int, width: Int) throws(RuntimeError) {
        let expectedHeight: Int, expectedWidth: Int
        switch network.input {
        case .image(let c, let h, let w, _, _):
            guard (channels, height, width) == (c, h, w) else {
                throw .imageShapeMismatch(expected: [c, h, w], found: [channels, height, width])
            }
            return
        case .imageRows(let h, let w, _, _):
            guard channels == 1 else { throw .imageShapeMismatch(expected: [1, h, w], found: [channels, height, width]) }
            (expectedHeight, expectedWidth) = (h, w)
        default: throw .inputKindMismatch(model: inputKind, given: .imageRows)
        }
        guard height == expectedHeight, width == expectedWidth else {
            throw .imageSizeMismatch(expectedHeight: expectedHeight, expectedWidth: expectedWidth,
                                     foundHeight: height, foundWidth: width)
        }
    }

    // MARK: Images

    /// Classifies images given as raw `u8` pixels, `count x height x width`, row-major.
    ///
    /// - Throws: ``RuntimeError/inputLengthMismatch(valuesPerImage:found:what:)`` when the buffer is
    ///   not a whole number of images; ``RuntimeError/invalidOption(name:expected:found:)``;
    ///   ``RuntimeError/inputKindMismatch(model:given:)`` for a token model.
    public func classify(pixels: UnsafeBufferPointer<UInt8>, options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try classifyImages(pixels.count, what: "pixels", pixels.baseAddress.map(BatchSource.pixels), options: options)
    }

    /// Classifies images given as raw `u8` pixels, `count x height x width`, row-major.
    public func classify(pixels: [UInt8], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try pixels.withUnsafeBufferPointer { buffer throws(RuntimeError) in try classify(pixels: buffer, options: options) }
    }

    /// Classifies image sequences that are already normalized: `count x T x W` values `x[t][j]`
    /// (spec §6.2), bypassing the input contract's scale and offset.
    public func classify(features: UnsafeBufferPointer<Float>, options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try classifyImages(features.count, what: "features", features.baseAddress.map(BatchSource.normalized), options: options)
    }

    /// Classifies normalized image sequences, `count x T x W` values.
    public func classify(features: [Float], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try features.withUnsafeBufferPointer { buffer throws(RuntimeError) in try classify(features: buffer, options: options) }
    }

    // MARK: Feature sequences

    /// Features models (spec §6.2.2): runs sequences of `width` features per step, each given as
    /// its `T_i x width` source values, step-major (`x[t][j]` at `t * width + j`), `1 <= T_i <=
    /// max_length`. The file's standardization is applied here. Per-step models give `T_i` output
    /// rows per sequence (``BatchResult/outputs(of:)``).
    ///
    /// - Throws: ``RuntimeError/inputKindMismatch(model:given:)`` for another kind of model;
    ///   ``RuntimeError/featureCountMismatch(expected:found:what:)`` for a sequence that is not a
    ///   whole number of steps; ``RuntimeError/sequenceLength(index:length:maxLength:)``;
    ///   ``RuntimeError/nonFiniteInput(index:step:feature:value:)``; ``RuntimeError/invalidOption(name:expected:found:)``.
    public func classify(sequences: [[Float]], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let width = try featureWidth()
        var lengths: [Int] = []
        lengths.reserveCapacity(sequences.count)
        for (i, sequence) in sequences.enumerated() {
            guard sequence.count % width == 0 else {
                throw .featureCountMismatch(expected: width, found: sequence.count, what: "sequence \(i) has \(sequence.count) values, not a whole number of steps")
            }
            lengths.append(sequence.count / width)
        }
        let flat = Array(sequences.joined())
        var starts = [Int](repeating: 0, count: sequences.count)
        var position = 0
        for i in sequences.indices { starts[i] = position; position += sequences[i].count }
        return try flat.withUnsafeBufferPointer { buffer throws(RuntimeError) in
            try classify(features: buffer, starts: starts, lengths: lengths, options: options)
        }
    }

    /// Features models: runs `lengths.count` sequences stored padded in one `[N, steps, width]`
    /// array (as a `.npy` file holds them): sequence `i` is its first `lengths[i]` steps, from
    /// `i * steps * width`; values past a sequence's length are never read.
    public func classify(paddedSequences values: UnsafeBufferPointer<Float>, steps: Int, lengths: [Int],
                         options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let width = try featureWidth()
        guard steps > 0, values.count == lengths.count * steps * width else {
            throw .featureCountMismatch(expected: width, found: values.count,
                                        what: "\(lengths.count) padded sequences of \(steps) steps need \(lengths.count * steps * width) values")
        }
        if let i = lengths.firstIndex(where: { $0 > steps }) {
            throw .sequenceLength(index: i, length: lengths[i], maxLength: min(steps, network.input.maxLength))
        }
        return try classify(features: values, starts: lengths.indices.map { $0 * steps * width }, lengths: lengths, options: options)
    }

    /// Checks lengths and values, then runs: sequence `i` starts at `values + starts[i]`.
    private func classify(features values: UnsafeBufferPointer<Float>, starts: [Int], lengths: [Int],
                          options: ClassifyOptions) throws(RuntimeError) -> BatchResult {
        let width = network.input.width, maxLength = network.input.maxLength
        let options = try options.validated()
        for (i, length) in lengths.enumerated() {
            guard (1...maxLength).contains(length) else { throw .sequenceLength(index: i, length: length, maxLength: maxLength) }
            for k in 0..<(length * width) where !values[starts[i] + k].isFinite {
                throw .nonFiniteInput(index: i, step: k / width, feature: k % width, value: values[starts[i] + k])
            }
        }
        guard !lengths.isEmpty, let base = values.baseAddress else { return emptyResult }
        return run(.features(base), lengths: lengths, starts: starts, sortByLength: true, options: options)
    }

    /// The features per step of a `features` model.
    private func featureWidth() throws(RuntimeError) -> Int {
        guard case .features(let width, _, _, _) = network.input else {
            throw .inputKindMismatch(model: inputKind, given: .features)
        }
        return width
    }

    // MARK: Texts

    /// Classifies texts with the file's text pipeline (spec §6.2.1): tokenize, truncate, run.
    /// Tokenizing is split between ``ClassifyOptions/threads`` workers too.
    ///
    /// - Throws: ``RuntimeError/inputKindMismatch(model:given:)`` for an image model;
    ///   ``RuntimeError/invalidOption(name:expected:found:)``.
    public func classify(texts: [String], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let encoder = try tokenEncoder()
        let options = try options.validated()
        var ids = [[Int32]](repeating: [], count: texts.count)
        let workers = max(1, min(options.threads, texts.count))
        ids.withUnsafeMutableBufferPointer { buffer in
            let shared = SharedRows(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: texts.count, by: workers) { shared.base[i] = encoder.tokenIDs(texts[i]) }
            }
        }
        return try classify(tokenSequences: ids, options: options)
    }

    /// Classifies token-id sequences made by ``encoder`` (``RNNFormat/TokenEncoder/tokenIDs(_:)`` or,
    /// for a text read in pieces, ``RNNFormat/TokenSequence``). A sequence longer than the file's
    /// `max_length` is truncated by the file's rule; ids outside the vocabulary read as
    /// out-of-vocabulary. ``BatchResult/lengths`` holds the tokens each text ran.
    public func classify(tokenSequences: [[Int32]], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let encoder = try tokenEncoder()
        let options = try options.validated()
        let maxLength = network.input.maxLength
        let sequences = tokenSequences.contains { $0.count > maxLength } ? tokenSequences.map(encoder.truncate) : tokenSequences
        guard !sequences.isEmpty else { return emptyResult }
        return sequences.withUnsafeBufferPointer { buffer in
            run(.tokens(buffer.baseAddress!), lengths: sequences.map(\.count), starts: [], sortByLength: true, options: options)
        }
    }

    private func tokenEncoder() throws(RuntimeError) -> TokenEncoder {
        guard let encoder else { throw .inputKindMismatch(model: inputKind, given: .tokens) }
        return encoder
    }

    // MARK: Running

    private var emptyResult: BatchResult {
        BatchResult(count: 0, classCount: classCount, labels: labels, logits: [], probabilities: [], predictions: [], lengths: [],
                    output: metadata.output, rowStarts: network.outputsPerStep ? [] : nil)
    }

    /// Checks a flat buffer of `values` image values and runs the whole images it holds.
    private func classifyImages(_ values: Int, what: String, _ source: BatchSource?, options: ClassifyOptions) throws(RuntimeError) -> BatchResult {
        switch network.input {
        case .imageRows, .image: break
        default: throw .inputKindMismatch(model: inputKind, given: .imageRows)
        }
        let per = pixelsPerImage
        guard values % per == 0 else {
            throw .inputLengthMismatch(valuesPerImage: per, found: values, what: what)
        }
        let options = try options.validated()
        guard values > 0, let source else { return emptyResult }
        let count = values / per
        return run(source, lengths: [Int](repeating: network.input.maxLength, count: count),
                   starts: (0..<count).map { $0 * per }, sortByLength: false, options: options)
    }

    /// Splits the inputs into blocks and runs them on `options.threads` workers.
    ///
    /// Blocks hold consecutive inputs (token sequences: consecutive after a stable sort by length,
    /// longest first, so that a block's sequences end close together and few steps run with few
    /// rows). Block `k` holds the same inputs whatever the thread count, so results are bitwise
    /// independent of `threads`; worker `w` takes blocks `w, w + workers, ...`.
    private func run(_ source: BatchSource, lengths: [Int], starts: [Int], sortByLength: Bool, options: ClassifyOptions) -> BatchResult {
        let count = lengths.count
        let classes = classCount
        let order = sortByLength
            ? lengths.indices.sorted { lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) }
            : Array(lengths.indices)
        // Blocks never need more than `scratchLimit` bytes of scratch per worker, whatever the
        // model's size; the cap depends only on the model, so results stay independent of threads.
        let blockSize = min(options.blockSize, count, max(1, scratchLimit / Workspace.bytesPerImage(network)))
        let blocks = (count + blockSize - 1) / blockSize
        let workers = min(options.threads, blocks)
        let (kernel, int8Kernel) = options.kernel.variants
        let engine = Engine(network: network, math: options.activationMath, kernel: kernel, int8Kernel: int8Kernel)
        // Per-step models: input i's rows start at the sum of the lengths before it.
        var rowStarts: [Int]? = nil
        var rows = count
        // A conv1d front end (spec §6.1) changes the steps the layers after it run: what a result reports.
        let outputLengths = lengths.map(network.outputLength)
        if network.outputsPerStep {
            var starts = [Int](repeating: 0, count: count)
            var total = 0
            for i in 0..<count { starts[i] = total; total += outputLengths[i] }
            rowStarts = starts
            rows = total
        }
        let hasClasses = metadata.output == .logits

        var logits = [Float](repeating: 0, count: rows * classes)
        var probabilities = [Float](repeating: 0, count: hasClasses ? rows * classes : 0)
        var predictions = [Int](repeating: 0, count: hasClasses ? rows : 0)
        logits.withUnsafeMutableBufferPointer { logitsBuffer in
            probabilities.withUnsafeMutableBufferPointer { probabilityBuffer in
                predictions.withUnsafeMutableBufferPointer { predictionBuffer in
                starts.withUnsafeBufferPointer { startsBuffer in
                rowStarts.withOptionalBuffer { rowStartsBuffer in
                    let out = SharedOutput(logits: logitsBuffer.baseAddress!, probabilities: probabilityBuffer.baseAddress,
                                           predictions: predictionBuffer.baseAddress, starts: startsBuffer.baseAddress,
                                           rowStarts: rowStartsBuffer)
                    let work: @Sendable (Int) -> Void = { worker in
                        let workspace = Workspace(network: self.network, capacity: blockSize, fused: engine.kernel != .none)
                        var block = worker
                        while block < blocks {
                            let members = order[(block * blockSize)..<min((block + 1) * blockSize, count)]
                            engine.run(source, indices: members, lengths: members.map { lengths[$0] }, starts: out.starts,
                                       workspace: workspace, output: OutputRows(base: out.logits, rowStarts: out.rowStarts))
                            if hasClasses, let probabilities = out.probabilities, let predictions = out.predictions {
                                for i in members {
                                    let first = out.rowStarts?[i] ?? i
                                    for row in first..<(first + (out.rowStarts == nil ? 1 : outputLengths[i])) {
                                        predictions[row] = softmaxRow(out.logits + row * classes, probabilities + row * classes, count: classes)
                                    }
                                }
                            }
                            block += workers
                        }
                    }
                    if workers == 1 {
                        work(0)
                    } else {
                        DispatchQueue.concurrentPerform(iterations: workers, execute: work)
                    }
                }
                }
                }
            }
        }
        return BatchResult(count: count, classCount: classes, labels: labels, logits: logits,
                           probabilities: probabilities, predictions: predictions, lengths: outputLengths,
                           output: metadata.output, rowStarts: rowStarts)
    }
}

/// Output pointers shared by the workers; each worker writes only the rows of its own blocks.
private struct SharedOutput: @unchecked Sendable {
    let logits: UnsafeMutablePointer<Float>
    let probabilities: UnsafeMutablePointer<Float>?
    let predictions: UnsafeMutablePointer<Int>?
    let starts: UnsafePointer<Int>?
    let rowStarts: UnsafePointer<Int>?
}

extension Optional where Wrapped == [Int] {
    /// Calls `body` with the array's base address, or nil.
    func withOptionalBuffer<R>(_ body: (UnsafePointer<Int>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}

/// Rows that worker threads fill, each its own.
private struct SharedRows<Row>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Row>
}

/// Scratch memory per worker thread above which blocks are made smaller (256 MiB).
let scratchLimit = 256 << 20
