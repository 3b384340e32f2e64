import CBLAS
import Dispatch
import RNNFormat
import RNNKernels

/// A loaded text classifier (format 1.1: `tokens` input -> `embedding` -> `lstm`... -> `dense`...):
/// immutable, and safe to use from many threads at once.
///
/// The text pipeline comes from the file (spec §6.2.1), so callers pass raw review text.
///
/// **Folding the embedding** (the analogue of ``DenseFolding`` for token input). The first LSTM
/// computes `z = W_ih x + b_ih + W_hh h + b_hh` with `x = E[k]`, row `k` of the embedding. For a
/// token id, `W_ih E[k] + b_ih + b_hh` depends on `k` alone, so the table
///
///     T = E · W_ihᵀ + (b_ih + b_hh)      [V, 4H]   (row k = the whole input projection of token k)
///
/// replaces the embedding lookup *and* the input GEMM: a step costs one row copy per text. It is
/// formed once at load (in Double, then rounded). It costs `V x 4H x 4` bytes (20,002 x 512 x 4 = 41 MB
/// for V = 20k, H = 128, against 5 MB for E itself at D = 64), so it is built only when that is at
/// most ``TextLoadOptions/foldingLimitBytes``; otherwise the runtime gathers `E` rows and multiplies.
public final class TextClassifier: Sendable {
    /// Architecture, input contract (with the vocabulary), labels and provenance, as stored in the file.
    public let metadata: ModelMetadata
    /// The file's text pipeline.
    public let encoder: TokenEncoder
    /// Whether the embedding was folded into the first LSTM's input projection.
    public let isEmbeddingFolded: Bool

    private let vocabularySize: Int
    private let embeddingSize: Int
    private let embedding: [Float]        // [V, D] (empty when folded)
    private let inputTable: [Float]       // [V, 4H0] (empty when not folded)
    private let lstms: [RecurrentWeights]
    private let heads: [HeadWeights]
    /// The fused kernel the LSTMs run on (``StepKernel``), or `.none` for BLAS + the Swift gate pass.
    public let kernel: FusedKernel
    /// Per LSTM, its weights in the fused kernel's layout (empty on the portable path).
    private let fusedLayers: [FusedTextLayer]
    /// The folded input table with interleaved, padded gate columns `[V, 4 Hp]` (fused path only;
    /// ``inputTable`` is then empty).
    private let fusedTable: [Float]

    /// One LSTM for the fused kernel: padded hidden size `Hp`, input weights for a `[rows, inputWidth]`
    /// input (the embedding or the previous LSTM's padded output), panels as ``packForKernel(_:rows:columns:)``.
    struct FusedTextLayer: Sendable {
        var hidden: Int
        var padded: Int
        var inputWidth: Int
        var input: [Float]
        var recurrent: [Float]
        var bias: [Float]
    }

    struct RecurrentWeights: Sendable {
        var inputSize: Int
        var hidden: Int
        var inputWeights: [Float]   // [4H, I]
        var recurrentWeights: [Float]  // [4H, H]
        var bias: [Float]           // b_ih + b_hh, [4H]
        var returnsSequence: Bool
    }

    struct HeadWeights: Sendable {
        var inputSize: Int
        var outputSize: Int
        var weight: [Float]
        var bias: [Float]
        var activation: Activation
    }

    /// Builds a classifier from a ``ModelFile`` whose input kind is `tokens`.
    ///
    /// - Throws: ``RuntimeError/unsupportedModel(_:)`` unless the layers are `embedding`, one or more
    ///   `lstm`, then `dense` layers (dense layers between the embedding and the LSTM are not supported).
    public init(_ file: ModelFile, options: TextLoadOptions = TextLoadOptions()) throws(RuntimeError) {
        metadata = file.metadata
        switch options.kernel {
        case .automatic: kernel = FusedKernel.detected
        case .portable: kernel = .none
        case .fused(let variant):
            guard FusedKernel.supported.contains(variant) else {
                throw .kernelUnavailable(requested: variant, available: FusedKernel.detected)
            }
            kernel = variant
        }
        guard metadata.input.kind == .tokens, let tokens = metadata.input.tokens else {
            throw .unsupportedModel("input kind '\(metadata.input.kind.rawValue)' is not 'tokens' (image models load as Model)")
        }
        encoder = TokenEncoder(tokens)
        func values(_ name: String, _ count: Int) throws(RuntimeError) -> [Float] {
            guard let t = file.tensor(named: name), t.count == count else {
                throw .unsupportedModel("tensor '\(name)' is missing or has \(file.tensor(named: name)?.count ?? 0) values; expected \(count)")
            }
            return t.floatValues()
        }
        guard case .embedding(let e)? = metadata.layers.first else {
            throw .unsupportedModel("a tokens model starts with an embedding layer (spec §6.1 rule 2a)")
        }
        vocabularySize = e.vocabularySize
        embeddingSize = e.dimension
        var rawEmbedding = try values(e.weight, e.vocabularySize * e.dimension)
        var lstms: [RecurrentWeights] = [], heads: [HeadWeights] = []
        var width = e.dimension
        for layer in metadata.layers.dropFirst() {
            switch layer {
            case .lstm(let l):
                guard heads.isEmpty, l.inputSize == width else {
                    throw .unsupportedModel("lstm layer '\(l.name)' must follow the embedding or another lstm, with input \(width)")
                }
                let g = 4 * l.hiddenSize
                let bIH = try values(l.biasIH, g)
                let bHH = try l.biasHH.map { n throws(RuntimeError) in try values(n, g) } ?? [Float](repeating: 0, count: g)
                lstms.append(RecurrentWeights(inputSize: l.inputSize, hidden: l.hiddenSize,
                                              inputWeights: try values(l.weightIH, g * l.inputSize),
                                              recurrentWeights: try values(l.weightHH, g * l.hiddenSize),
                                              bias: zip(bIH, bHH).map { $0 + $1 }, returnsSequence: l.returns == .sequence))
                width = l.hiddenSize
            case .dense(let d):
                guard !lstms.isEmpty, d.inputSize == width else {
                    throw .unsupportedModel("dense layer '\(d.name)' before the lstm is not supported in a tokens model")
                }
                heads.append(HeadWeights(inputSize: d.inputSize, outputSize: d.outputSize, weight: try values(d.weight, d.outputSize * d.inputSize),
                                         bias: try d.bias.map { n throws(RuntimeError) in try values(n, d.outputSize) } ?? [Float](repeating: 0, count: d.outputSize),
                                         activation: d.activation))
                width = d.outputSize
            case .embedding(let other):
                throw .unsupportedModel("second embedding layer '\(other.name)'")
            }
        }
        guard let first = lstms.first, lstms.last?.returnsSequence == false else {
            throw .unsupportedModel("a tokens model needs an lstm returning its last state")
        }
        let tableBytes = vocabularySize.multipliedReportingOverflow(by: 4 * first.hidden * 4)
        let fused = kernel != .none
        if !tableBytes.overflow && tableBytes.partialValue <= options.foldingLimitBytes {
            // T[k] = W_ih E[k] + bias, in Double then rounded once.
            let g = 4 * first.hidden, d = embeddingSize
            let e64 = rawEmbedding.map(Double.init), w64 = first.inputWeights.map(Double.init)
            var t64 = [Double](repeating: 0, count: vocabularySize * g)
            for k in 0..<vocabularySize { for r in 0..<g { t64[k * g + r] = Double(first.bias[r]) } }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(vocabularySize), Int32(g), Int32(d), 1,
                        e64, Int32(d), w64, Int32(d), 1, &t64, Int32(g))
            if fused {
                // Each row's 4H gate-major columns, interleaved and padded like the kernel's z.
                let h = first.hidden, padded = (h + laneCount - 1) / laneCount * laneCount
                var table = [Float](repeating: 0, count: vocabularySize * 4 * padded)
                for k in 0..<vocabularySize {
                    for gate in 0..<4 {
                        for unit in 0..<h {
                            let column = (unit / laneCount) * 4 * laneCount + gate * laneCount + unit % laneCount
                            table[k * 4 * padded + column] = Float(t64[k * g + gate * h + unit])
                        }
                    }
                }
                fusedTable = table
                inputTable = []
            } else {
                inputTable = t64.map(Float.init)
                fusedTable = []
            }
            rawEmbedding = []
            isEmbeddingFolded = true
        } else {
            inputTable = []
            fusedTable = []
            isEmbeddingFolded = false
        }
        var layers: [FusedTextLayer] = []
        if fused {
            var width = embeddingSize
            for layer in lstms {
                let h = layer.hidden, padded = (h + laneCount - 1) / laneCount * laneCount
                let input = interleaveGates(layer.inputWeights.map(Double.init), hidden: h, padded: padded,
                                            columns: layer.inputSize, stride: width)
                let recurrent = interleaveGates(layer.recurrentWeights.map(Double.init), hidden: h, padded: padded,
                                                columns: h, stride: padded)
                layers.append(FusedTextLayer(
                    hidden: h, padded: padded, inputWidth: width,
                    input: packForKernel(input, rows: 4 * padded, columns: width),
                    recurrent: packForKernel(recurrent, rows: 4 * padded, columns: padded),
                    bias: interleaveGates(layer.bias.map(Double.init), hidden: h, padded: padded, columns: 1, stride: 1)))
                width = padded
            }
        }
        fusedLayers = layers
        embedding = rawEmbedding
        self.lstms = lstms
        self.heads = heads
        openblas_set_num_threads(1)
    }

    /// Reads, verifies (spec §7) and loads the model at `path`.
    public convenience init(contentsOf path: String, options: TextLoadOptions = TextLoadOptions()) throws(RuntimeError) {
        let file: ModelFile
        do { file = try ModelReader.read(contentsOf: path) } catch { throw .unreadableModel(path: path, error: error) }
        try self.init(file, options: options)
    }

    /// Class names, in output order.
    public var labels: [String] { metadata.labels }
    /// Number of classes.
    public var classCount: Int { heads.last?.outputSize ?? lstms.last!.hidden }

    /// Logits `[count, classes]` for token-id sequences (ids must be `< vocab_size`; out-of-range ids
    /// are treated as out-of-vocabulary). Each sequence runs over its own length (spec §6.2.1).
    public func logits(tokenSequences: [[Int32]], threads: Int = 1) -> [Float] {
        let chunk = 128
        let chunks = (tokenSequences.count + chunk - 1) / chunk
        let c = classCount
        var out = [Float](repeating: 0, count: tokenSequences.count * c)
        let workers = max(1, min(threads, chunks))
        out.withUnsafeMutableBufferPointer { buffer in
            let shared = SharedLogits(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for k in stride(from: w, to: chunks, by: workers) {
                    let range = (k * chunk)..<min((k + 1) * chunk, tokenSequences.count)
                    let logits = forward(Array(tokenSequences[range]))
                    (shared.base + range.lowerBound * c).update(from: logits, count: logits.count)
                }
            }
        }
        return out
    }

    /// Classifies texts: the most probable class and its probability, and all probabilities.
    public func classify(texts: [String], threads: Int = 1) -> [TextPrediction] {
        // Tokenizing is a tenth of the work: split it between the threads too (each writes its own rows).
        var ids = [[Int32]](repeating: [], count: texts.count)
        let workers = max(1, min(threads, texts.count))
        ids.withUnsafeMutableBufferPointer { buffer in
            let shared = SharedSequences(base: buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: texts.count, by: workers) { (shared.base + i).pointee = encoder.tokenIDs(texts[i]) }
            }
        }
        return classify(tokenSequences: ids, threads: threads)
    }

    /// Classifies token-id sequences made by ``encoder`` (``TokenEncoder/tokenIDs(_:)`` or, for a text
    /// read in pieces, ``RNNFormat/TokenSequence``).
    public func classify(tokenSequences ids: [[Int32]], threads: Int = 1) -> [TextPrediction] {
        let logits = logits(tokenSequences: ids, threads: threads)
        let c = classCount
        return (0..<ids.count).map { i in
            let row = Array(logits[(i * c)..<((i + 1) * c)])
            let m = row.max()!
            let e = row.map { libmExp($0 - m) }
            let sum = e.reduce(0, +)
            let p = e.map { $0 / sum }
            let best = p.indices.max { p[$0] < p[$1] }!
            return TextPrediction(classIndex: best, label: labels[best], probability: p[best], probabilities: p, tokenCount: ids[i].count)
        }
    }

    /// One chunk: sort by length (longest first) and pack time-major, so the texts still running at
    /// step t are the first n_t rows; padded steps are never computed (spec §6.2.1).
    private func forward(_ sequences: [[Int32]]) -> [Float] {
        if kernel != .none { return fusedForward(sequences) }
        let chunk = PackedChunk(sequences, vocabularySize: vocabularySize)
        let (order, lengths, steps, active, offsets, total) = (chunk.order, chunk.lengths, chunk.steps, chunk.active, chunk.offsets, chunk.total)
        let count = sequences.count
        func id(_ b: Int, _ t: Int) -> Int { chunk.id(b, t) }
        var input: [Float] = []   // packed layer input [total, width]
        var final = [Float]()
        for (l, layer) in lstms.enumerated() {
            let h = layer.hidden, g = 4 * h
            var z = [Float](repeating: 0, count: total * g)
            if l == 0 && isEmbeddingFolded {
                inputTable.withUnsafeBufferPointer { table in
                    z.withUnsafeMutableBufferPointer { z in
                        for t in 0..<steps {
                            for b in 0..<active[t] {
                                (z.baseAddress! + (offsets[t] + b) * g).update(from: table.baseAddress! + id(b, t) * g, count: g)
                            }
                        }
                    }
                }
            } else {
                if l == 0 {
                    let d = embeddingSize
                    input = [Float](repeating: 0, count: total * d)
                    embedding.withUnsafeBufferPointer { e in
                        input.withUnsafeMutableBufferPointer { x in
                            for t in 0..<steps {
                                for b in 0..<active[t] {
                                    (x.baseAddress! + (offsets[t] + b) * d).update(from: e.baseAddress! + id(b, t) * d, count: d)
                                }
                            }
                        }
                    }
                }
                z.withUnsafeMutableBufferPointer { z in
                    for r in 0..<total { (z.baseAddress! + r * g).update(from: layer.bias, count: g) }
                    if total > 0 {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(total), Int32(g), Int32(layer.inputSize), 1,
                                    input, Int32(layer.inputSize), layer.inputWeights, Int32(layer.inputSize), 1, z.baseAddress!, Int32(g))
                    }
                }
            }
            var hs = [Float](repeating: 0, count: total * h)
            var cs = [Float](repeating: 0, count: total * h)
            z.withUnsafeMutableBufferPointer { z in
                hs.withUnsafeMutableBufferPointer { hs in
                    cs.withUnsafeMutableBufferPointer { cs in
                        layer.recurrentWeights.withUnsafeBufferPointer { r in
                            for t in 0..<steps {
                                let rows = active[t], o = offsets[t]
                                if t > 0 {
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(g), Int32(h), 1,
                                                hs.baseAddress! + offsets[t - 1] * h, Int32(h), r.baseAddress!, Int32(h), 1,
                                                z.baseAddress! + o * g, Int32(g))
                                }
                                for b in 0..<rows {
                                    gateRow(z.baseAddress! + (o + b) * g,
                                            previousCell: t > 0 ? UnsafePointer(cs.baseAddress! + (offsets[t - 1] + b) * h) : nil,
                                            cell: cs.baseAddress! + (o + b) * h, hidden: hs.baseAddress! + (o + b) * h, size: h)
                                }
                            }
                        }
                    }
                }
            }
            if layer.returnsSequence {
                input = hs
            } else {
                final = [Float](repeating: 0, count: count * h)
                for b in 0..<count where lengths[b] > 0 {
                    let row = offsets[lengths[b] - 1] + b
                    for j in 0..<h { final[b * h + j] = hs[row * h + j] }
                }
            }
        }
        return applyHeads(final, count: count, order: order)
    }

    /// The dense layers after the last LSTM, then the logits back in the caller's order.
    private func applyHeads(_ final: [Float], count: Int, order: [Int]) -> [Float] {
        var x = final
        for head in heads {
            var y = [Float](repeating: 0, count: count * head.outputSize)
            for b in 0..<count {
                for o in 0..<head.outputSize {
                    var s = head.bias[o]
                    for j in 0..<head.inputSize { s += head.weight[o * head.inputSize + j] * x[b * head.inputSize + j] }
                    switch head.activation {
                    case .none: break
                    case .relu: s = max(0, s)
                    case .tanh: s = libmTanh(s)
                    }
                    y[b * head.outputSize + o] = s
                }
            }
            x = y
        }
        // Back to the caller's order.
        let c = classCount
        var logits = [Float](repeating: 0, count: count * c)
        for b in 0..<count { for k in 0..<c { logits[order[b] * c + k] = x[b * c + k] } }
        return logits
    }

    /// ``forward(_:)`` with the fused kernel: per layer and step one kernel call over the texts
    /// still running (`rows = n_t`, a prefix of the sorted chunk). With the embedding folded, the
    /// step's table rows are gathered into a small `[n_t, 4 Hp]` buffer that the kernel starts `z`
    /// from (`z_in`), so the input costs one row copy per text and step, as on the portable path.
    private func fusedForward(_ sequences: [[Int32]]) -> [Float] {
        let chunk = PackedChunk(sequences, vocabularySize: vocabularySize)
        let (order, lengths, steps, active, offsets, total) = (chunk.order, chunk.lengths, chunk.steps, chunk.active, chunk.offsets, chunk.total)
        let count = sequences.count
        func id(_ b: Int, _ t: Int) -> Int { chunk.id(b, t) }
        var input: [Float] = []   // packed layer input [total, width]
        var final = [Float]()
        for (l, layer) in fusedLayers.enumerated() {
            let hp = layer.padded, g = 4 * hp, width = layer.inputWidth
            let folded = l == 0 && isEmbeddingFolded
            if l == 0 && !folded {
                input = [Float](repeating: 0, count: total * width)
                for t in 0..<steps {
                    for b in 0..<active[t] {
                        let row = (offsets[t] + b) * width, source = id(b, t) * width
                        for j in 0..<width { input[row + j] = embedding[source + j] }
                    }
                }
            }
            var hs = [Float](repeating: 0, count: total * hp)
            var cs = [Float](repeating: 0, count: total * hp)
            var gathered = [Float](repeating: 0, count: folded ? count * g : 0)
            hs.withUnsafeMutableBufferPointer { hs in
                cs.withUnsafeMutableBufferPointer { cs in
                    gathered.withUnsafeMutableBufferPointer { z in
                        input.withUnsafeBufferPointer { x in
                            layer.input.withUnsafeBufferPointer { wx in
                                layer.recurrent.withUnsafeBufferPointer { wh in
                                    layer.bias.withUnsafeBufferPointer { bias in
                                        fusedTable.withUnsafeBufferPointer { table in
                                            for t in 0..<steps {
                                                let rows = active[t], o = offsets[t]
                                                if folded {
                                                    for b in 0..<rows {
                                                        (z.baseAddress! + b * g).update(from: table.baseAddress! + id(b, t) * g, count: g)
                                                    }
                                                }
                                                let previous = t > 0 ? offsets[t - 1] * hp : 0
                                                var args = rnnk_lstm_step_args(
                                                    rows: Int32(rows), groups: Int32(hp / laneCount),
                                                    x: folded ? nil : x.baseAddress! + o * width, x_stride: folded ? 0 : width,
                                                    x_width: folded ? 0 : Int32(width), wx: wx.baseAddress,
                                                    h: t > 0 ? UnsafePointer(hs.baseAddress! + previous) : nil, h_stride: hp,
                                                    h_width: t > 0 ? Int32(hp) : 0, wh: wh.baseAddress, bias: bias.baseAddress,
                                                    c_prev: t > 0 ? UnsafePointer(cs.baseAddress! + previous) : nil,
                                                    c_out: cs.baseAddress! + o * hp, c_stride: hp,
                                                    h_out: hs.baseAddress! + o * hp, h_out_stride: hp,
                                                    gates_out: nil, gates_stride: 0, gates_hidden: 0, cell_tanh_out: nil,
                                                    z_in: folded ? UnsafePointer(z.baseAddress) : nil, z_in_stride: g)
                                                let status = rnnk_lstm_step(kernel.isa, &args)
                                                precondition(status == 0, "fused LSTM kernel \(kernel) unavailable")  // checked at load
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if l < fusedLayers.count - 1 {
                input = hs
            } else {
                let h = layer.hidden
                final = [Float](repeating: 0, count: count * h)
                for b in 0..<count where lengths[b] > 0 {
                    let row = offsets[lengths[b] - 1] + b
                    for j in 0..<h { final[b * h + j] = hs[row * hp + j] }
                }
            }
        }
        return applyHeads(final, count: count, order: order)
    }
}

/// A chunk of texts sorted by length, longest first (ties in input order), and packed time-major:
/// the `active[t]` texts still running at step `t` are the first rows, and their rows start at
/// `offsets[t]` of a `[total, width]` buffer.
private struct PackedChunk {
    let sequences: [[Int32]]
    let vocabularySize: Int
    let order: [Int]
    let lengths: [Int]
    let steps: Int
    let active: [Int]
    let offsets: [Int]
    let total: Int

    init(_ sequences: [[Int32]], vocabularySize: Int) {
        self.sequences = sequences
        self.vocabularySize = vocabularySize
        order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count || (sequences[$0].count == sequences[$1].count && $0 < $1) }
        lengths = order.map { sequences[$0].count }
        steps = lengths.first ?? 0
        var active = [Int](repeating: 0, count: steps), offsets = [Int](repeating: 0, count: steps)
        var running = lengths.count, total = 0
        for t in 0..<steps {
            while running > 0 && lengths[running - 1] <= t { running -= 1 }
            active[t] = running; offsets[t] = total; total += running
        }
        self.active = active
        self.offsets = offsets
        self.total = total
    }

    /// The token id of sorted text `b` at step `t` (ids outside the vocabulary read as out-of-vocabulary).
    func id(_ b: Int, _ t: Int) -> Int {
        let k = Int(sequences[order[b]][t])
        return k >= 0 && k < vocabularySize ? k : TokenInput.outOfVocabularyID
    }
}

/// The gate pass of spec §6.1 for one row: `z` (4H pre-activations, ifgo) -> `c`, `h`.
@inline(__always)
private func gateRow(_ z: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>?, cell: UnsafeMutablePointer<Float>,
                     hidden: UnsafeMutablePointer<Float>, size h: Int) {
    var j = 0
    let raw = UnsafeMutableRawPointer(z)
    while j + laneCount <= h {
        let i = fastSigmoid(raw.loadUnaligned(fromByteOffset: 4 * j, as: Lanes.self))
        let f = fastSigmoid(raw.loadUnaligned(fromByteOffset: 4 * (h + j), as: Lanes.self))
        let g = fastTanh(raw.loadUnaligned(fromByteOffset: 4 * (2 * h + j), as: Lanes.self))
        let o = fastSigmoid(raw.loadUnaligned(fromByteOffset: 4 * (3 * h + j), as: Lanes.self))
        let cp = previousCell.map { UnsafeRawPointer($0).loadUnaligned(fromByteOffset: 4 * j, as: Lanes.self) } ?? Lanes(repeating: 0)
        let c = f * cp + i * g
        UnsafeMutableRawPointer(cell).storeBytes(of: c, toByteOffset: 4 * j, as: Lanes.self)
        UnsafeMutableRawPointer(hidden).storeBytes(of: o * fastTanh(c), toByteOffset: 4 * j, as: Lanes.self)
        j += laneCount
    }
    while j < h {
        let i = 1 / (1 + libmExp(-z[j])), f = 1 / (1 + libmExp(-z[h + j]))
        let g = libmTanh(z[2 * h + j]), o = 1 / (1 + libmExp(-z[3 * h + j]))
        let c = f * (previousCell?[j] ?? 0) + i * g
        cell[j] = c
        hidden[j] = o * libmTanh(c)
        j += 1
    }
}

/// Where workers write their logits (each worker writes disjoint rows).
private struct SharedLogits: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}

/// Token-id rows that worker threads fill, each its own rows.
private struct SharedSequences: @unchecked Sendable {
    let base: UnsafeMutablePointer<[Int32]>
}

/// Options for loading a ``TextClassifier``.
public struct TextLoadOptions: Sendable, Equatable {
    /// The folded input table `[V, 4H]` is built only when it takes at most this many bytes (default 64 MiB).
    public var foldingLimitBytes: Int
    /// Which implementation runs the LSTM steps (as for image models, ``ClassifyOptions/kernel``).
    public var kernel: StepKernel

    public init(foldingLimitBytes: Int = 64 << 20, kernel: StepKernel = .automatic) {
        self.foldingLimitBytes = foldingLimitBytes
        self.kernel = kernel
    }
}

/// The result for one text.
public struct TextPrediction: Sendable, Equatable {
    /// Index of the most probable class.
    public var classIndex: Int
    /// Its label.
    public var label: String
    /// Its probability (softmax of the logits).
    public var probability: Float
    /// Every class's probability.
    public var probabilities: [Float]
    /// Tokens the network read (after truncation).
    public var tokenCount: Int
}
