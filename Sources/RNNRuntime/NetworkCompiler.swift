import CBLAS
import RNNCore
import RNNFormat

/// When a dense layer without activation that feeds an LSTM is folded into the LSTM's input weights.
public enum DenseFolding: Sendable, Equatable {
    /// Fold when the folded product costs no more multiply-adds per time step than the unfolded layers
    /// (always true for the usual "widen the input, then LSTM" stem; false for a narrow bottleneck,
    /// where folding would multiply the work).
    case whenCheaper
    /// Fold every activation-free dense layer that directly precedes an LSTM.
    case always
    /// Run every layer as written.
    case never
}

/// Turns a ``ModelFile`` into the stages the fast path runs (see ``Stage``).
///
/// Folding (step (a) of the kernel design). A chain of activation-free dense layers
/// `u = W_n (... (W_1 x + b_1) ...) + b_n`, collapsed to `u = M x + v`, that feeds an LSTM with
/// `z = A u + b_ih + R h + b_hh` gives, by associativity of matrix products,
///
///     z = (A M) x + (A v + b_ih + b_hh) + R h
///
/// so `W' = A M` (`4H x I0`) and `b' = A v + b_ih + b_hh` replace the chain exactly in real
/// arithmetic. The products are formed in Double at load, so the only difference from running the
/// layers one by one is binary32 rounding (the tests bound it).
struct NetworkCompiler {
    let file: ModelFile
    let folding: DenseFolding

    /// An affine map `y = M x + v` in Double, `M` is `[rows, columns]` row-major.
    private struct Affine {
        var rows: Int
        var columns: Int
        var matrix: [Double]
        var vector: [Double]
    }

    private struct PendingDense {
        var layer: DenseLayer
        var weight: [Float]
        var bias: [Float]
    }

    /// Bytes the folded embedding table `[V, 4 * paddedHidden]` may take (``LoadOptions``).
    var embeddingFoldingLimit: Int = 64 << 20
    /// Whether to lay weights out for the fused kernels too (there is one on this CPU).
    var packForKernels: Bool = KernelISA.detected != .none
    /// Whether recurrent layers stored as int8 keep their integer weights and run the int8
    /// evaluation (spec §6.6; ``LoadOptions/evaluation``).
    var int8Evaluation: Bool = true

    func compile() throws(RuntimeError) -> CompiledNetwork {
        let metadata = file.metadata
        let input = metadata.input
        var layers = metadata.layers[...]
        var inputStage: InputStage
        var width: Int
        switch input.kind {
        case .imageRows:
            guard (1...4096).contains(input.height), (1...4096).contains(input.width) else {
                throw .unsupportedModel("input size \(input.height)x\(input.width) (each side must be 1...4096)")
            }
            inputStage = .imageRows(height: input.height, width: input.width, scale: input.scale, offset: input.offset)
            width = input.width
        case .tokens:
            guard let tokens = input.tokens else { throw .unsupportedModel("a tokens input without its text pipeline") }
            guard case .embedding(let e)? = layers.first else {
                throw .unsupportedModel("a tokens model starts with an embedding layer (spec §6.1 rule 2a)")
            }
            let table = try values(e.weight, shape: [e.vocabularySize, e.dimension])
            inputStage = .embedding(table: table, vocabulary: e.vocabularySize, dimension: e.dimension, maxLength: tokens.maxLength)
            width = e.dimension
            layers = layers.dropFirst()
        case .features:
            guard let f = input.features else { throw .unsupportedModel("a features input without its width and length") }
            var mean: [Float] = [], divisor: [Float] = []
            if let meanName = f.mean, let stdName = f.std {
                mean = try values(meanName, shape: [f.width])
                // Spec §6.2.2: a zero standard deviation divides by 1.
                divisor = try values(stdName, shape: [f.width]).map { $0 > 0 ? $0 : 1 }
            }
            inputStage = .features(width: f.width, maxLength: f.maxLength, mean: mean, divisor: divisor)
            width = f.width
        case .image:
            guard (1...4096).contains(input.channels), (1...4096).contains(input.height), (1...4096).contains(input.width),
                  input.valuesPerImage <= 16_777_216 else {
                throw .unsupportedModel("image input \(input.channels)x\(input.height)x\(input.width) (each side 1...4096, at most 2^24 values)")
            }
            inputStage = .image(channels: input.channels, height: input.height, width: input.width,
                                scale: input.scale, offset: input.offset)
            width = input.valuesPerImage
        }
        var stages: [Stage] = []
        var pending: [PendingDense] = []
        var folded = 0
        var inSequence = true
        var stride = width
        // Where logical input j of the next layer sits in a row of `stride` floats (a bidirectional
        // layer's output is [forward | padding | backward | padding]).
        var columns = Array(0..<width)
        // An image model's current feature map, channels last with `stride` floats per pixel, until
        // `flatten` (spec §6.1): its values never form a sequence.
        var map: (channels: Int, height: Int, width: Int, stride: Int)? = nil
        if case .image(let c, let h, let w, _, _) = inputStage {
            map = (c, h, w, c)
            inSequence = false
        }

        // Emits the pending activation-free dense layers unfolded.
        func flush() {
            for p in pending {
                stages.append(.dense(DenseStage(
                    outputSize: p.layer.outputSize, inputStride: stride,
                    weight: scatterColumns(p.weight, rows: p.layer.outputSize, columns: columns, stride: stride),
                    bias: p.bias, activation: .none, perTimeStep: true)))
                stride = p.layer.outputSize
                columns = Array(0..<stride)
            }
            pending.removeAll()
        }

        for layer in layers {
            switch layer {
            case .dense(let d):
                guard d.inputSize == width, d.inputSize > 0, d.outputSize > 0 else {
                    throw .unsupportedModel("dense layer '\(d.name)' expects \(d.inputSize) inputs, previous layer gives \(width)")
                }
                let weight = try values(d.weight, shape: [d.outputSize, d.inputSize])
                let bias = try d.bias.map { name throws(RuntimeError) in try values(name, shape: [d.outputSize]) }
                    ?? [Float](repeating: 0, count: d.outputSize)
                width = d.outputSize
                // (The int8 evaluation folds such a chain into an int8 recurrent layer whatever `folding`
                // says, spec §6.6; in front of anything else the chain is emitted as layers.)
                if inSequence && d.activation == .none && (folding != .never || int8Evaluation) {
                    pending.append(PendingDense(layer: d, weight: weight, bias: bias))
                    continue
                }
                flush()
                stages.append(.dense(DenseStage(
                    outputSize: d.outputSize, inputStride: stride,
                    weight: scatterColumns(weight, rows: d.outputSize, columns: columns, stride: stride),
                    bias: bias, activation: ActivationKind(d.activation), perTimeStep: inSequence)))
                stride = d.outputSize
                columns = Array(0..<stride)

            case .embedding(let e):
                throw .unsupportedModel("embedding layer '\(e.name)' is not the first layer of a tokens model")

            case .conv2d(let c):
                guard let m = map, c.inChannels == m.channels, c.inChannels > 0, c.outChannels > 0,
                      let out = c.window.outputSize(height: m.height, width: m.width) else {
                    throw .unsupportedModel("conv2d layer '\(c.name)' does not fit the feature map before it (spec §6.1 rules 2c, 3)")
                }
                let w = c.window
                let weight = try values(c.weight, shape: [c.outChannels, c.inChannels, w.kernelHeight, w.kernelWidth])
                let bias = try c.bias.map { name throws(RuntimeError) in try values(name, shape: [c.outChannels]) }
                let kernel = Conv2DKernel(
                    inHeight: m.height, inWidth: m.width, inChannels: m.channels, inChannelStride: m.stride,
                    window: Window(kernelHeight: w.kernelHeight, kernelWidth: w.kernelWidth, strideHeight: w.strideHeight,
                                   strideWidth: w.strideWidth, padTop: w.padTop, padLeft: w.padLeft),
                    outHeight: out.height, outWidth: out.width, outChannels: c.outChannels,
                    activation: KernelActivation(c.activation), weight: weight, bias: bias)
                stages.append(.conv2d(kernel))
                map = (c.outChannels, out.height, out.width, kernel.outChannelStride)

            case .maxPool2d(let p):
                guard let m = map, let out = p.window.outputSize(height: m.height, width: m.width) else {
                    throw .unsupportedModel("maxpool2d layer '\(p.name)' does not fit the feature map before it (spec §6.1 rules 2c, 3)")
                }
                let w = p.window
                stages.append(.maxPool2d(MaxPool2DKernel(
                    inHeight: m.height, inWidth: m.width, channels: m.stride,
                    window: Window(kernelHeight: w.kernelHeight, kernelWidth: w.kernelWidth, strideHeight: w.strideHeight,
                                   strideWidth: w.strideWidth, padTop: w.padTop, padLeft: w.padLeft),
                    outHeight: out.height, outWidth: out.width)))
                map = (m.channels, out.height, out.width, m.stride)

            case .flatten(let f):
                guard let m = map else {
                    throw .unsupportedModel("flatten layer '\(f.name)' does not follow a feature map (spec §6.1 rule 2c)")
                }
                // Logical input (c * H + i) * W + j of the next layer (PyTorch's channel-first order) is
                // pixel (i, j), channel c of the channels-last map: column (i * W + j) * stride + c.
                width = m.channels * m.height * m.width
                stride = m.height * m.width * m.stride
                columns = [Int](repeating: 0, count: width)
                for c in 0..<m.channels { for i in 0..<m.height { for j in 0..<m.width {
                    columns[(c * m.height + i) * m.width + j] = (i * m.width + j) * m.stride + c
                } } }
                map = nil

            case .conv1d(let c):
                // Spec §6.1 rule (2d): before the first recurrent layer, on a sequence.
                guard inSequence, map == nil, c.inChannels == width, c.outChannels > 0,
                      !stages.contains(where: \.isRecurrent) else {
                    throw .unsupportedModel("conv1d layer '\(c.name)' does not stand before the recurrent layers with \(width) inputs (spec §6.1 rules 2d, 3)")
                }
                flush()
                let k = c.window.kernel
                let weight = try values(c.weight, shape: [c.outChannels, c.inChannels, k])
                let bias = try c.bias.map { name throws(RuntimeError) in try values(name, shape: [c.outChannels]) }
                    ?? [Float](repeating: 0, count: c.outChannels)
                // W[o][ch][u] -> column u * stride + columns[ch] of the gathered window row.
                var laidOut = [Float](repeating: 0, count: c.outChannels * k * stride)
                for o in 0..<c.outChannels { for ch in 0..<c.inChannels { for u in 0..<k {
                    laidOut[o * k * stride + u * stride + columns[ch]] = weight[(o * c.inChannels + ch) * k + u]
                } } }
                stages.append(.conv1d(Conv1DStage(window: c.window, inputStride: stride, outputSize: c.outChannels,
                                                  weight: laidOut, bias: bias, activation: ActivationKind(c.activation))))
                width = c.outChannels
                stride = c.outChannels
                columns = Array(0..<stride)

            case .pool(let p):
                // Spec §6.1 rule (2b): right after the last recurrent layer, which returns "sequence".
                guard inSequence, case .recurrent? = stages.last, pending.isEmpty else {
                    throw .unsupportedModel("pool layer '\(p.name)' does not directly follow a recurrent layer that returns \"sequence\"")
                }
                guard p.size == width else {
                    throw .unsupportedModel("pool layer '\(p.name)' expects \(p.size) inputs, previous layer gives \(width)")
                }
                // The rows keep the recurrent layer's padded layout: `stride` and `columns` stay.
                stages.append(.pool(PoolStage(mode: p.mode, stride: stride)))
                inSequence = false

            case .lstm, .gru:
                let spec = RecurrentSpec(layer)!
                guard inSequence else {
                    throw .unsupportedModel("\(spec.type) layer '\(spec.name)' follows a recurrent layer that returns only its last state")
                }
                guard spec.inputSize == width, spec.inputSize > 0, spec.hidden > 0 else {
                    throw .unsupportedModel("\(spec.type) layer '\(spec.name)' expects \(spec.inputSize) inputs, previous layer gives \(width)")
                }
                let h = spec.hidden, g = spec.cell.gates * h
                let padded = GateLayout.paddedHidden(h)
                // Spec §6.6: every direction's W_ih and W_hh stored as int8, an LSTM or a reset-after GRU.
                let directionTensors = [spec.forward] + (spec.reverse.map { [$0] } ?? [])
                let runsInt8 = int8Evaluation && spec.cell != .gru(resetAfter: false) && directionTensors.allSatisfy {
                    file.tensor(named: $0.weightIH)?.dtype == .int8 && file.tensor(named: $0.weightHH)?.dtype == .int8
                }
                // Both directions' weights in Double, gate-major rows, logical input columns.
                var directions = try ([spec.forward] + (spec.reverse.map { [$0] } ?? [])).map { t throws(RuntimeError) in
                    try RawDirection(cell: spec.cell, hidden: h, inputSize: spec.inputSize,
                                     a: values(t.weightIH, shape: [g, spec.inputSize]), r: values(t.weightHH, shape: [g, h]),
                                     bIH: values(t.biasIH, shape: [g]),
                                     bHH: t.biasHH.map { name throws(RuntimeError) in try values(name, shape: [g]) })
                }
                // Pending layers leave `columns` and `stride` alone: they still describe the rows the
                // chain reads, which a folded layer reads instead.
                var foldedInt8Input = false
                if !pending.isEmpty {
                    let chain = compose(pending)
                    let foldedCost = directions.count * g * chain.columns
                    let unfoldedCost = pending.reduce(0) { $0 + $1.layer.inputSize * $1.layer.outputSize } + directions.count * g * spec.inputSize
                    // Spec §6.6: the int8 evaluation always folds, then quantizes the folded W_ih per row.
                    if runsInt8 || folding == .always || (folding == .whenCheaper && foldedCost <= unfoldedCost) {
                        foldedInt8Input = runsInt8
                        // W' = A M, b' = A v + b (see the type's comment), for each direction.
                        for i in directions.indices { directions[i].fold(chain.matrix, chain.vector, columns: chain.columns) }
                        folded += pending.count
                        pending.removeAll()
                    } else {
                        flush()
                    }
                }
                let inputColumns = columns
                var stageInputStride = stride
                var foldTable = false
                if stages.isEmpty, spec.cell == .lstm, spec.reverse == nil, !runsInt8,
                   case .embedding(_, let vocabulary, _, _) = inputStage,
                   case let (tableFloats, overflow) = vocabulary.multipliedReportingOverflow(by: 4 * padded),
                   !overflow, tableFloats <= embeddingFoldingLimit / 4 {
                    foldTable = true
                }
                if foldTable, case .embedding(let table, let vocabulary, let dimension, let maxLength) = inputStage {
                    // The embedding folds into this LSTM's input projection: T = E W_ihᵀ + b.
                    inputStage = .foldedEmbedding(
                        table: foldEmbedding(table, vocabulary: vocabulary, dimension: dimension,
                                             inputWeight: directions[0].a, bias: directions[0].bias, hidden: h, padded: padded),
                        vocabulary: vocabulary, columns: 4 * padded, maxLength: maxLength)
                    stageInputStride = 0
                }
                var weights = directions.map {
                    $0.laidOut(padded: padded, inputColumns: stageInputStride == 0 ? [] : inputColumns, inputStride: stageInputStride,
                               packLSTM: packForKernels, floatWeights: !runsInt8)
                }
                if runsInt8 {
                    for (i, t) in directionTensors.enumerated() {
                        // The file's integers, or (a folded chain) the folded W_ih quantized with §4.1's rule.
                        let input = foldedInt8Input
                            ? Tensor.int8Quantize(directions[i].a.map { Float($0) }, rows: g)
                            : try stored(t.weightIH, rows: g, columns: spec.inputSize)
                        weights[i].int8 = Int8Weights(
                            input: int8Matrix(input, cell: spec.cell, hidden: h, padded: padded,
                                              inputColumns: inputColumns, stride: stageInputStride),
                            recurrent: int8Matrix(try stored(t.weightHH, rows: g, columns: h), cell: spec.cell, hidden: h,
                                                  padded: padded, inputColumns: Array(0..<h), stride: padded))
                    }
                }
                stages.append(.recurrent(RecurrentStage(
                    cell: spec.cell, hidden: h, paddedHidden: padded, inputStride: stageInputStride,
                    forward: weights[0], backward: weights.count > 1 ? weights[1] : nil,
                    returnsSequence: spec.returns == .sequence)))
                width = spec.reverse == nil ? h : 2 * h
                stride = spec.reverse == nil ? padded : 2 * padded
                columns = Array(0..<h) + (spec.reverse == nil ? [] : Array(padded..<(padded + h)))
                inSequence = spec.returns == .sequence
            }
        }
        flush()
        if case .pool? = stages.last, columns != Array(0..<width) {
            // A pool as the last layer (a "values" model) holds padded rows; an identity layer
            // gathers its logical columns, which the output copy reads as the first `width`.
            var identity = [Float](repeating: 0, count: width * width)
            for j in 0..<width { identity[j * width + j] = 1 }
            stages.append(.dense(DenseStage(
                outputSize: width, inputStride: stride,
                weight: scatterColumns(identity, rows: width, columns: columns, stride: stride),
                bias: [Float](repeating: 0, count: width), activation: .none, perTimeStep: false)))
        }
        guard width == metadata.labels.count else {
            throw .unsupportedModel("the last layer gives \(width) outputs but there are \(metadata.labels.count) labels")
        }
        guard stages.contains(where: \.isRecurrent) || input.kind == .image else {
            throw .unsupportedModel("the model has no recurrent layer (spec §6.1 requires one)")
        }
        if map != nil { throw .unsupportedModel("the image model has no flatten layer (spec §6.1 rule 2c)") }
        return CompiledNetwork(input: inputStage, stages: stages, classCount: width, foldedDenseLayers: folded,
                               outputsPerStep: inSequence,
                               conv1dWindows: stages.compactMap { if case .conv1d(let c) = $0 { c.window } else { nil } })
    }

    /// The folded embedding table `T[k] = W_ih E[k] + b` (`[V, 4 * padded]`, interleaved gate columns):
    /// formed in Double with one DGEMM, then rounded once.
    private func foldEmbedding(_ e: [Float], vocabulary: Int, dimension d: Int, inputWeight: [Double], bias: [Double],
                               hidden h: Int, padded: Int) -> [Float] {
        let g = 4 * h
        var t64 = [Double](repeating: 0, count: vocabulary * g)
        for k in 0..<vocabulary { for r in 0..<g { t64[k * g + r] = bias[r] } }
        let e64 = e.map(Double.init)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(vocabulary), blasint(g), blasint(d), 1,
                    e64, blasint(d), inputWeight, blasint(d), 1, &t64, blasint(g))
        let columns = 4 * padded
        var table = [Float](repeating: 0, count: vocabulary * columns)
        for k in 0..<vocabulary {
            for gate in 0..<4 {
                for unit in 0..<h {
                    table[k * columns + GateLayout.row(gate: gate, unit: unit)] = Float(t64[k * g + gate * h + unit])
                }
            }
        }
        return table
    }

    /// The integers and per-row scales of int8 tensor `name`, `[rows, columns]`.
    private func stored(_ name: String, rows: Int, columns: Int) throws(RuntimeError) -> (values: [Int8], scales: [Float]) {
        guard let tensor = file.tensor(named: name), tensor.shape == [rows, columns],
              case .int8(let q, let s) = tensor.storage, q.count == rows * columns, s.count == rows else {
            throw .unsupportedModel("tensor '\(name)' is not an int8 [\(rows), \(columns)] matrix")
        }
        return (q, s)
    }

    /// A recurrent weight in int8 (`[gates * hidden, columns]`, gate-major rows, with per-row scales),
    /// laid out for the int8 products: row `(gate, unit)` becomes column ``GateLayout/row(gate:unit:)``
    /// (or ``GateLayout/gruRow(gate:unit:)``) of `gates * padded`, logical input `j` goes to position
    /// `inputColumns[j]` of `stride`; padded rows and columns are zero with scale 1.
    private func int8Matrix(_ m: (values: [Int8], scales: [Float]), cell: CellKind, hidden h: Int, padded: Int,
                            inputColumns: [Int], stride: Int) -> Int8Matrix {
        let gates = cell.gates, columns = inputColumns.count
        var values = [Int8](repeating: 0, count: gates * padded * stride)
        var scales = [Float](repeating: 1, count: gates * padded)
        for gate in 0..<gates {
            for unit in 0..<h {
                let source = gate * h + unit
                let column = cell == .lstm ? GateLayout.row(gate: gate, unit: unit) : GateLayout.gruRow(gate: gate, unit: unit)
                scales[column] = m.scales[source]
                for j in 0..<columns { values[column * stride + inputColumns[j]] = m.values[source * columns + j] }
            }
        }
        return Int8Matrix(values: values, scales: scales, columns: gates * padded, width: stride)
    }

    /// The dequantized values of tensor `name`, checked against the shape its layer requires.
    private func values(_ name: String, shape: [Int]) throws(RuntimeError) -> [Float] {
        guard let tensor = file.tensor(named: name) else {
            throw .unsupportedModel("tensor '\(name)' is missing")
        }
        guard tensor.shape == shape else {
            throw .unsupportedModel("tensor '\(name)' has shape \(tensor.shape), expected \(shape)")
        }
        let values = tensor.floatValues()
        guard values.count == tensor.count else {
            throw .unsupportedModel("tensor '\(name)' holds \(values.count) values, its shape needs \(tensor.count)")
        }
        return values
    }

    /// Collapses a chain of activation-free dense layers into one affine map, in Double.
    private func compose(_ chain: [PendingDense]) -> Affine {
        let first = chain[0]
        var affine = Affine(rows: first.layer.outputSize, columns: first.layer.inputSize,
                            matrix: first.weight.map(Double.init), vector: first.bias.map(Double.init))
        for next in chain.dropFirst() {
            let w = next.weight.map(Double.init)
            let rows = next.layer.outputSize
            let matrix = multiply(w, rows: rows, inner: affine.rows, affine.matrix, columns: affine.columns)
            var vector = [Double](repeating: 0, count: rows)
            for row in 0..<rows {
                var sum = Double(next.bias[row])
                for k in 0..<affine.rows { sum += w[row * affine.rows + k] * affine.vector[k] }
                vector[row] = sum
            }
            affine = Affine(rows: rows, columns: affine.columns, matrix: matrix, vector: vector)
        }
        return affine
    }
}

extension ActivationKind {
    init(_ activation: Activation) {
        switch activation {
        case .none: self = .none
        case .relu: self = .relu
        case .tanh: self = .tanh
        }
    }
}

/// `[rows, inner] x [inner, columns]`, row-major, in Double (load time only).
func multiply(_ a: [Double], rows: Int, inner: Int, _ b: [Double], columns: Int) -> [Double] {
    var c = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows {
        for k in 0..<inner {
            let aik = a[i * inner + k]
            if aik == 0 { continue }
            for j in 0..<columns { c[i * columns + j] += aik * b[k * columns + j] }
        }
    }
    return c
}

extension Stage {
    var isRecurrent: Bool { if case .recurrent = self { true } else { false } }
}

/// What the compiler needs of an `lstm` or `gru` layer, read the same way for both.
private struct RecurrentSpec {
    var type: String
    var name: String
    var cell: CellKind
    var inputSize: Int
    var hidden: Int
    var forward: ReverseTensors
    var reverse: ReverseTensors?
    var returns: SequenceReturn

    init?(_ layer: Layer) {
        switch layer {
        case .lstm(let l):
            self.init(type: "lstm", name: l.name, cell: .lstm, inputSize: l.inputSize, hidden: l.hiddenSize,
                      forward: ReverseTensors(weightIH: l.weightIH, weightHH: l.weightHH, biasIH: l.biasIH, biasHH: l.biasHH),
                      reverse: l.reverse, returns: l.returns)
        case .gru(let g):
            self.init(type: "gru", name: g.name, cell: .gru(resetAfter: g.reset == .after), inputSize: g.inputSize,
                      hidden: g.hiddenSize,
                      forward: ReverseTensors(weightIH: g.weightIH, weightHH: g.weightHH, biasIH: g.biasIH, biasHH: g.biasHH),
                      reverse: g.reverse, returns: g.returns)
        default:
            return nil
        }
    }

    private init(type: String, name: String, cell: CellKind, inputSize: Int, hidden: Int, forward: ReverseTensors,
                 reverse: ReverseTensors?, returns: SequenceReturn) {
        self.type = type
        self.name = name
        self.cell = cell
        self.inputSize = inputSize
        self.hidden = hidden
        self.forward = forward
        self.reverse = reverse
        self.returns = returns
    }
}

/// One direction's weights in Double, gate-major rows (spec order: i, f, g, o or r, z, n), before
/// padding and interleaving: `a` `[gH, columns]`, `r` `[gH, H]`, `bias` the input-side bias (see
/// ``DirectionWeights``), `biasHN` the GRU's `b_hn` when the reset follows the product.
private struct RawDirection {
    var cell: CellKind
    var hidden: Int
    var columns: Int
    var a: [Double]
    var r: [Double]
    var bias: [Double]
    var biasHN: [Double]

    init(cell: CellKind, hidden h: Int, inputSize: Int, a: [Float], r: [Float], bIH: [Float], bHH: [Float]?) {
        self.cell = cell
        self.hidden = h
        self.columns = inputSize
        self.a = a.map(Double.init)
        self.r = r.map(Double.init)
        let bHH = bHH ?? [Float](repeating: 0, count: bIH.count)
        switch cell {
        case .lstm:
            bias = (0..<bIH.count).map { Double(bIH[$0]) + Double(bHH[$0]) }
            biasHN = []
        case .gru(let resetAfter):
            // r, z: both biases add before the sigmoid. n: b_in; b_hn joins it only when the reset
            // gate comes before the product (then b_hn is a constant inside the tanh).
            bias = (0..<bIH.count).map { Double(bIH[$0]) + ($0 < 2 * h || !resetAfter ? Double(bHH[$0]) : 0) }
            biasHN = resetAfter ? (0..<h).map { Double(bHH[2 * h + $0]) } : []
        }
    }

    /// Folds an affine chain `u = M x + v` (`M` `[inner, columns]`) into the input side:
    /// `A u + b = (A M) x + (A v + b)`.
    mutating func fold(_ m: [Double], _ v: [Double], columns newColumns: Int) {
        let rows = cell.gates * hidden
        for row in 0..<rows {
            var sum = 0.0
            for k in 0..<columns { sum += a[row * columns + k] * v[k] }
            bias[row] += sum
        }
        a = multiply(a, rows: rows, inner: columns, m, columns: newColumns)
        columns = newColumns
    }

    /// The padded, interleaved (and, for the step kernels, packed) layout. `inputColumns[j]` is the
    /// physical column of logical input `j` in a row of `inputStride` floats (0: no input weights).
    /// With `floatWeights` false (a layer that runs the int8 evaluation) only the biases are kept.
    func laidOut(padded: Int, inputColumns: [Int], inputStride: Int, packLSTM: Bool, floatWeights: Bool = true) -> DirectionWeights {
        let h = hidden, rows = cell.gates * h
        guard floatWeights else {
            let lstm = cell == .lstm
            let interleavedBias = lstm ? GateLayout.interleave(bias, hidden: h, padded: padded, columns: 1, stride: 1)
                                       : GateLayout.interleaveGRU(bias, hidden: h, padded: padded, columns: 1, stride: 1)
            return DirectionWeights(inputWeight: [], recurrentWeight: [], bias: interleavedBias,
                                    biasHN: biasHN.isEmpty ? [] : (0..<padded).map { $0 < h ? Float(biasHN[$0]) : 0 },
                                    packedInputWeight: [], packedRecurrentWeight: [])
        }
        var scattered = [Double](repeating: 0, count: rows * inputStride)
        if inputStride > 0 {
            for row in 0..<rows { for j in 0..<columns { scattered[row * inputStride + inputColumns[j]] = a[row * columns + j] } }
        }
        let biasHNPadded = biasHN.isEmpty ? [] : (0..<padded).map { $0 < h ? Float(biasHN[$0]) : 0 }
        switch cell {
        case .lstm:
            let input = GateLayout.interleave(scattered, hidden: h, padded: padded, columns: inputStride, stride: inputStride)
            let recurrent = GateLayout.interleave(r, hidden: h, padded: padded, columns: h, stride: padded)
            return DirectionWeights(
                inputWeight: input, recurrentWeight: recurrent,
                bias: GateLayout.interleave(bias, hidden: h, padded: padded, columns: 1, stride: 1), biasHN: [],
                packedInputWeight: packLSTM && inputStride > 0 ? GateLayout.pack(input, rows: 4 * padded, columns: inputStride) : [],
                packedRecurrentWeight: packLSTM ? GateLayout.pack(recurrent, rows: 4 * padded, columns: padded) : [])
        case .gru:
            // The GRU always runs on its step kernel (a portable variant exists), so only panels are kept.
            let input = GateLayout.interleaveGRU(scattered, hidden: h, padded: padded, columns: inputStride, stride: inputStride)
            let recurrent = GateLayout.interleaveGRU(r, hidden: h, padded: padded, columns: h, stride: padded)
            return DirectionWeights(
                inputWeight: [], recurrentWeight: [],
                bias: GateLayout.interleaveGRU(bias, hidden: h, padded: padded, columns: 1, stride: 1), biasHN: biasHNPadded,
                packedInputWeight: inputStride > 0 ? GateLayout.packGRU(input, rows: 3 * padded, columns: inputStride) : [],
                packedRecurrentWeight: GateLayout.packGRU(recurrent, rows: 3 * padded, columns: padded))
        }
    }
}

/// Places a `[rows, columns.count]` matrix's column `j` at `columns[j]` of `[rows, stride]` rows,
/// zero elsewhere (padded hidden units, a bidirectional layer's two halves).
func scatterColumns(_ m: [Float], rows: Int, columns: [Int], stride: Int) -> [Float] {
    // The identity map (a flatten of a map without padded channels permutes but does not pad).
    if columns.count == stride && columns.indices.allSatisfy({ columns[$0] == $0 }) { return m }
    let width = columns.count
    var out = [Float](repeating: 0, count: rows * stride)
    for r in 0..<rows {
        for j in 0..<width { out[r * stride + columns[j]] = m[r * width + j] }
    }
    return out
}

extension KernelActivation {
    init(_ activation: Activation) {
        switch activation {
        case .none: self = .none
        case .relu: self = .relu
        case .tanh: self = .tanh
        }
    }
}
