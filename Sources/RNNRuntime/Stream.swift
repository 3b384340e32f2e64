import RNNCore
import RNNFormat
import RNNSupport

/// Live streams through a model: one time step per call, the recurrent state carried between calls.
///
/// A `Stream` holds `count` independent streams (say, one per microphone or sensor) and steps them
/// together, in one kernel call per layer. Each ``step(_:)`` reads one time step for every stream
/// (`count x width` values) and returns the outputs after that step (`count x outputs`): for a model
/// that returns its last state, what classifying the sequence so far as a whole would give; for a
/// per-step model, that step's output (spec §6.5). Streams are unbounded: the file's `max_length`
/// limits whole sequences only.
///
/// ```swift
/// let stream = try model.makeStream()
/// for frame in frames { print(try stream.step(frame)) }   // frame.count == model.input.width
/// let saved = stream.state()                                // keep it per client ...
/// try stream.restore(saved)                                 // ... and continue later
/// ```
///
/// The state of stream `i` can be read (``state(stream:)``) and written back (``restore(_:stream:)``)
/// so that a stateless server can keep it per client; ``reset(stream:)`` starts it over (zero state).
/// Feature models (spec §6.2.2) and image-row models (one row of `u8` pixels per step,
/// ``step(pixels:)``) stream; bidirectional models (their backward direction needs the end of the
/// sequence) and text models cannot, and neither can pooled models (format 1.3, a `pool` layer):
/// their prefix output would need the running pool in the state, and for `"mean"` the number of
/// steps pooled, which a binary32 state holds exactly only up to 2^24 steps while streams are
/// unbounded; classify whole sequences instead. A stream keeps its model alive, and may be shared
/// between threads: calls are serialized.
public final class Stream: Sendable {
    /// The model this stream runs (kept alive by the stream).
    public let model: Model
    /// Independent streams stepped together.
    public let count: Int
    /// Values a step reads per stream (the model's features or row width).
    public let width: Int
    /// Outputs a step returns per stream.
    public var outputCount: Int { model.network.classCount }

    private let engine: Engine
    private let state: Locked<StreamBuffers>

    init(model: Model, count: Int, options: ClassifyOptions) throws(RuntimeError) {
        let network = model.network
        if network.recurrentStages.contains(where: { $0.backward != nil }) {
            throw .notStreamable("it has a bidirectional layer, whose backward direction starts from the end of the sequence")
        }
        // A pooled model's prefix output is well defined (a running sum and count, or a running
        // maximum), but this runtime does not carry that state between calls (spec §6.5): an
        // unbounded stream's step count does not fit a binary32 state exactly (see the type's comment).
        if network.stages.contains(where: { if case .pool = $0 { true } else { false } }) {
            throw .notStreamable("it pools over time (a pool layer): its output is one per whole sequence, and a stream's state does not carry the running pool; classify whole sequences")
        }
        // Spec §6.5: a stream would have to keep each convolution's last K - 1 input steps, and only an
        // unpadded end (PE = 0) gives a prefix the stream's outputs; this runtime streams neither.
        if network.stages.contains(where: { if case .conv1d = $0 { true } else { false } }) {
            throw .notStreamable("it has a conv1d layer, whose windows span several steps; classify whole sequences")
        }
        switch network.input {
        case .imageRows(_, let width, _, _), .features(let width, _, _, _): self.width = width
        case .embedding, .foldedEmbedding:
            throw .notStreamable("it reads text, whose pipeline truncates whole texts; stream feature or image-row models")
        case .image:
            throw .notStreamable("it is an image model (convolutions over a whole image): it has no time steps to stream; classify images")
        }
        guard (1...4096).contains(count) else {
            throw .invalidOption(name: "stream count", expected: "1...4096", found: count)
        }
        let options = try options.validated()
        self.model = model
        self.count = count
        let (kernel, int8Kernel) = options.kernel.variants
        engine = Engine(network: network, math: options.activationMath, kernel: kernel, int8Kernel: int8Kernel)
        state = Locked(StreamBuffers(network: network, count: count, fused: engine.kernel != .none))
    }

    /// Steps every stream once with `values`, `count x width` source values (stream `i`'s step at
    /// `i * width`), and returns the outputs after that step, `count x outputCount`.
    ///
    /// - Throws: ``RuntimeError/featureCountMismatch(expected:found:what:)``,
    ///   ``RuntimeError/nonFiniteInput(index:step:feature:value:)`` (`index` is the stream),
    ///   ``RuntimeError/inputKindMismatch(model:given:)`` for an image-row model (use ``step(pixels:)``).
    public func step(_ values: [Float]) throws(RuntimeError) -> [Float] {
        guard case .features = model.network.input else { throw .inputKindMismatch(model: model.inputKind, given: .features) }
        try checkCount(values.count)
        if let k = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput(index: k / width, step: 0, feature: k % width, value: values[k])
        }
        return values.withUnsafeBufferPointer { run(.features($0.baseAddress!)) }
    }

    /// Image-row models: steps every stream with one row of `u8` pixels each (`count x width`).
    public func step(pixels: [UInt8]) throws(RuntimeError) -> [Float] {
        guard case .imageRows = model.network.input else { throw .inputKindMismatch(model: model.inputKind, given: .imageRows) }
        try checkCount(pixels.count)
        return pixels.withUnsafeBufferPointer { run(.pixels($0.baseAddress!)) }
    }

    /// Steps taken by stream `i` since it was created, reset or restored (restoring keeps the count
    /// of the state's own stream unknown: it restarts at 0).
    public func steps(stream i: Int = 0) -> Int {
        state.withLock { $0.steps[i] }
    }

    /// Starts stream `i` over (nil: every stream): zero state, as at creation.
    public func reset(stream i: Int? = nil) {
        state.withLock { $0.reset(i) }
    }

    /// Values of one stream's state: for each recurrent layer in order, `h` (H values) and, for an
    /// LSTM, `c` (H values). Its layout is fixed by the model, so a state saved from one stream of a
    /// model can be restored into any stream of the same model.
    public var stateSize: Int {
        model.network.recurrentStages.reduce(0) { $0 + ($1.cell == .lstm ? 2 : 1) * $1.hidden }
    }

    /// Stream `i`'s state (``stateSize`` values).
    public func state(stream i: Int = 0) -> [Float] {
        let stages = model.network.recurrentStages
        return state.withLock { buffers in buffers.read(i, stages: stages) }
    }

    /// Replaces stream `i`'s state with `values` (from ``state(stream:)``).
    ///
    /// - Throws: ``RuntimeError/stateSizeMismatch(expected:found:)``; ``RuntimeError/nonFiniteInput(index:step:feature:value:)``.
    public func restore(_ values: [Float], stream i: Int = 0) throws(RuntimeError) {
        guard values.count == stateSize else { throw .stateSizeMismatch(expected: stateSize, found: values.count) }
        if let k = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteInput(index: i, step: 0, feature: k, value: values[k])
        }
        guard (0..<count).contains(i) else { throw .invalidOption(name: "stream index", expected: "0..<\(count)", found: i) }
        let stages = model.network.recurrentStages
        state.withLock { $0.write(values, i, stages: stages) }
    }

    private func checkCount(_ found: Int) throws(RuntimeError) {
        guard found == count * width else {
            throw .featureCountMismatch(expected: width, found: found,
                                        what: "\(count) stream\(count == 1 ? "" : "s") step with \(count * width) values, found \(found)")
        }
    }

    /// One step of every stream through the engine: `count` sequences of length 1, each starting
    /// from (and leaving its final state in) its state rows.
    private func run(_ source: BatchSource) -> [Float] {
        let classes = outputCount, count = count
        return state.withLock { buffers in
            var outputs = [Float](repeating: 0, count: count * classes)
            outputs.withUnsafeMutableBufferPointer { out in
                buffers.starts.withUnsafeBufferPointer { starts in
                    engine.run(source, batch: buffers.batch, callers: buffers.indices, starts: starts.baseAddress,
                               workspace: buffers.workspace, output: OutputRows(base: out.baseAddress!, rowStarts: nil),
                               state: buffers.rows)
                }
            }
            for i in 0..<count { buffers.steps[i] += 1 }
            return outputs
        }
    }
}

extension Model {
    /// Opens `count` independent live streams through this model (see ``Stream``).
    ///
    /// - Throws: ``RuntimeError/notStreamable(_:)`` for a bidirectional, text or pooled (`pool` layer) model;
    ///   ``RuntimeError/invalidOption(name:expected:found:)`` for a count outside 1...4096 or bad options.
    public func makeStream(count: Int = 1, options: ClassifyOptions = ClassifyOptions()) throws(RuntimeError) -> Stream {
        try Stream(model: self, count: count, options: options)
    }
}

/// What a ``Stream`` owns: per recurrent layer its `h` (and `c`) rows, padded like the kernels'
/// layout (padding stays zero), and a workspace for blocks of `count` rows.
private struct StreamBuffers: ~Copyable {
    let workspace: Workspace
    let rows: StateRows
    let paddedSizes: [Int]
    let indices: [Int]
    /// `count` sequences of one step, in order: the block every step runs.
    let batch: PackedBatch
    let starts: [Int]
    var steps: [Int]

    init(network: CompiledNetwork, count: Int, fused: Bool) {
        workspace = Workspace(network: network, capacity: count, fused: fused)
        let stages = network.recurrentStages
        paddedSizes = stages.map(\.paddedHidden)
        rows = StateRows(
            hidden: stages.map { UnsafeMutablePointer<Float>.allocate(capacity: count * $0.paddedHidden) },
            cell: stages.map { $0.cell == .lstm ? UnsafeMutablePointer<Float>.allocate(capacity: count * $0.paddedHidden) : nil })
        indices = Array(0..<count)
        batch = PackedBatch(count: count, length: 1)
        starts = (0..<count).map { $0 * network.input.width }
        steps = [Int](repeating: 0, count: count)
        reset(nil)
    }

    mutating func reset(_ stream: Int?) {
        let streams = stream.map { $0..<($0 + 1) } ?? 0..<indices.count
        for (k, padded) in paddedSizes.enumerated() {
            for i in streams {
                (rows.hidden[k] + i * padded).update(repeating: 0, count: padded)
                rows.cell[k].map { ($0 + i * padded).update(repeating: 0, count: padded) }
            }
        }
        for i in streams { steps[i] = 0 }
    }

    func read(_ i: Int, stages: [RecurrentStage]) -> [Float] {
        var values: [Float] = []
        for (k, stage) in stages.enumerated() {
            let padded = stage.paddedHidden
            values += UnsafeBufferPointer(start: rows.hidden[k] + i * padded, count: stage.hidden)
            if let c = rows.cell[k] { values += UnsafeBufferPointer(start: c + i * padded, count: stage.hidden) }
        }
        return values
    }

    mutating func write(_ values: [Float], _ i: Int, stages: [RecurrentStage]) {
        var position = 0
        for (k, stage) in stages.enumerated() {
            let padded = stage.paddedHidden, h = stage.hidden
            (rows.hidden[k] + i * padded).update(from: Array(values[position..<(position + h)]), count: h)
            position += h
            if let c = rows.cell[k] {
                (c + i * padded).update(from: Array(values[position..<(position + h)]), count: h)
                position += h
            }
        }
        steps[i] = 0
    }

    deinit {
        for p in rows.hidden { p.deallocate() }
        for p in rows.cell { p?.deallocate() }
    }
}
