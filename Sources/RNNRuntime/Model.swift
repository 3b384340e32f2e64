import CBLAS
import Dispatch
import RNNFormat

/// A loaded classifier, ready to run: immutable and safe to use from many threads at once.
///
/// A `Model` applies the input contract stored in the file (spec §6.2), so callers pass raw `u8`
/// pixels exactly as an IDX file stores them, and never re-implement the preprocessing.
///
/// ```swift
/// let model = try Model(contentsOf: "models/mnist-lstm.rnnm")
/// let result = try model.classify(pixels: images)   // images.count == n * 784
/// print(result[0].label, result[0].probability)
/// ```
///
/// Loading dequantizes every tensor to binary32, folds activation-free dense layers into the first
/// LSTM's input weights (see ``DenseFolding``) and lays the gate rows out for the fused gate pass.
/// It also sets OpenBLAS's own thread pool to one thread, process-wide: the runtime parallelizes
/// over images itself, and two nested pools would oversubscribe the cores.
public final class Model: Sendable {
    /// Architecture, input contract, labels and provenance, as stored in the file.
    public let metadata: ModelMetadata
    let network: CompiledNetwork

    /// Builds a model from an in-memory ``ModelFile``.
    ///
    /// - Throws: ``RuntimeError/unsupportedModel(_:)`` when the layers, tensors and labels do not
    ///   form a network this runtime can run (spec §6.1).
    public init(_ file: ModelFile, options: LoadOptions = LoadOptions()) throws(RuntimeError) {
        metadata = file.metadata
        network = try NetworkCompiler(file: file, folding: options.folding).compile()
        _ = blasSingleThreaded
    }

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

    /// Class names, in output order.
    public var labels: [String] { metadata.labels }
    /// The input contract (spec §6.2): image size, scale and offset.
    public var input: InputContract { metadata.input }
    /// Pixels per image: `height x width`.
    public var pixelsPerImage: Int { network.timeSteps * network.featureWidth }
    /// Number of classes.
    public var classCount: Int { network.classCount }
    /// How many dense layers were folded into LSTM input weights at load.
    public var foldedLayerCount: Int { network.foldedDenseLayers }
    /// Multiply-adds of one image's forward pass as the runtime runs it (after folding, padded hidden
    /// sizes included): `2 x` this is the FLOP count benchmarks divide by the time.
    public var multiplyAddsPerImage: Int { network.multiplyAddsPerImage }

    /// Checks that images of `height x width` pixels fit this model's input contract.
    ///
    /// - Throws: ``RuntimeError/imageSizeMismatch(expectedHeight:expectedWidth:foundHeight:foundWidth:)``,
    ///   e.g. "expected 784 pixels per image (28x28), found 1024 (32x32)".
    public func checkImageSize(height: Int, width: Int) throws(RuntimeError) {
        guard height == network.timeSteps, width == network.featureWidth else {
            throw .imageSizeMismatch(expectedHeight: network.timeSteps, expectedWidth: network.featureWidth,
                                     foundHeight: height, foundWidth: width)
        }
    }

    /// Classifies images given as raw `u8` pixels, `count x height x width`, row-major.
    ///
    /// - Throws: ``RuntimeError/inputLengthMismatch(valuesPerImage:found:what:)`` when the buffer is
    ///   not a whole number of images; ``RuntimeError/invalidOption(name:expected:found:)``.
    public func classify(pixels: UnsafeBufferPointer<UInt8>, options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let count = try imageCount(pixels.count, what: "pixels")
        guard count > 0, let base = pixels.baseAddress else { return emptyResult }
        return try run(count: count, options: options.validated(), input: InputSource(first: .pixels(base), stride: pixelsPerImage))
    }

    /// Classifies images given as raw `u8` pixels, `count x height x width`, row-major.
    public func classify(pixels: [UInt8], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try pixels.withUnsafeBufferPointer { buffer throws(RuntimeError) in try classify(pixels: buffer, options: options) }
    }

    /// Classifies input sequences that are already normalized: `count x T x W` values `x[t][j]`
    /// (spec §6.2), bypassing the input contract's scale and offset.
    public func classify(features: UnsafeBufferPointer<Float>, options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        let count = try imageCount(features.count, what: "features")
        guard count > 0, let base = features.baseAddress else { return emptyResult }
        return try run(count: count, options: options.validated(), input: InputSource(first: .features(base), stride: pixelsPerImage))
    }

    /// Classifies normalized input sequences, `count x T x W` values.
    public func classify(features: [Float], options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> BatchResult {
        try features.withUnsafeBufferPointer { buffer throws(RuntimeError) in try classify(features: buffer, options: options) }
    }

    private var emptyResult: BatchResult {
        BatchResult(count: 0, classCount: classCount, labels: labels, logits: [], probabilities: [], predictions: [])
    }

    private func imageCount(_ values: Int, what: String) throws(RuntimeError) -> Int {
        guard values % pixelsPerImage == 0 else {
            throw .inputLengthMismatch(valuesPerImage: pixelsPerImage, found: values, what: what)
        }
        return values / pixelsPerImage
    }

    /// Splits `count` images into blocks and runs them on `options.threads` workers.
    ///
    /// Block `k` always holds the same images whatever the thread count, so results are bitwise
    /// independent of `threads`; worker `w` takes blocks `w, w + workers, ...`.
    private func run(count: Int, options: ClassifyOptions, input: InputSource) -> BatchResult {
        let classes = classCount
        // Blocks never need more than `scratchLimit` bytes of scratch per worker, whatever the
        // model's size; the cap depends only on the model, so results stay independent of threads.
        let blockSize = min(options.blockSize, count, max(1, scratchLimit / Workspace.bytesPerImage(network)))
        let blocks = (count + blockSize - 1) / blockSize
        let workers = min(options.threads, blocks)
        let forward = BlockForward(network: network, math: options.activationMath, kernel: options.kernel)

        var logits = [Float](repeating: 0, count: count * classes)
        var probabilities = [Float](repeating: 0, count: count * classes)
        var predictions = [Int](repeating: 0, count: count)
        logits.withUnsafeMutableBufferPointer { logitsBuffer in
            probabilities.withUnsafeMutableBufferPointer { probabilityBuffer in
                predictions.withUnsafeMutableBufferPointer { predictionBuffer in
                    let out = SharedOutput(logits: logitsBuffer.baseAddress!, probabilities: probabilityBuffer.baseAddress!,
                                           predictions: predictionBuffer.baseAddress!)
                    let work: @Sendable (Int) -> Void = { worker in
                        let workspace = Workspace(network: self.network, capacity: blockSize, fused: forward.fused != .none)
                        var block = worker
                        while block < blocks {
                            let first = block * blockSize
                            let n = min(blockSize, count - first)
                            forward.run(input.image(first), count: n, workspace: workspace, logits: out.logits + first * classes)
                            for i in first..<(first + n) {
                                out.predictions[i] = softmaxRow(out.logits + i * classes, out.probabilities + i * classes, count: classes)
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
        return BatchResult(count: count, classCount: classes, labels: labels, logits: logits,
                           probabilities: probabilities, predictions: predictions)
    }
}

/// The caller's input buffer, shared read-only by the workers.
private struct InputSource: @unchecked Sendable {
    let first: BlockInput
    /// Values per image.
    let stride: Int

    func image(_ index: Int) -> BlockInput {
        switch first {
        case .pixels(let p): .pixels(p + index * stride)
        case .features(let p): .features(p + index * stride)
        }
    }
}

/// Output pointers shared by the workers; each worker writes only the rows of its own blocks.
private struct SharedOutput: @unchecked Sendable {
    let logits: UnsafeMutablePointer<Float>
    let probabilities: UnsafeMutablePointer<Float>
    let predictions: UnsafeMutablePointer<Int>
}

/// Scratch memory per worker thread above which blocks are made smaller (256 MiB).
let scratchLimit = 256 << 20

/// Set once per process, before the first GEMM (see ``Model``).
private let blasSingleThreaded: Void = openblas_set_num_threads(1)
