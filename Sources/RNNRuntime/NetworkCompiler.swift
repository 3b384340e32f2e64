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
            throw .unsupportedModel("features input (format 1.2) is not supported by this runtime yet")
        }
        var stages: [Stage] = []
        var pending: [PendingDense] = []
        var folded = 0
        var inSequence = true
        var stride = width

        // Emits the pending activation-free dense layers unfolded.
        func flush() {
            for p in pending {
                stages.append(.dense(DenseStage(
                    outputSize: p.layer.outputSize, inputStride: stride,
                    weight: padColumns(p.weight, rows: p.layer.outputSize, columns: p.layer.inputSize, stride: stride),
                    bias: p.bias, activation: .none, perTimeStep: true)))
                stride = p.layer.outputSize
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
                if inSequence && d.activation == .none && folding != .never {
                    pending.append(PendingDense(layer: d, weight: weight, bias: bias))
                    continue
                }
                flush()
                stages.append(.dense(DenseStage(
                    outputSize: d.outputSize, inputStride: stride,
                    weight: padColumns(weight, rows: d.outputSize, columns: d.inputSize, stride: stride),
                    bias: bias, activation: ActivationKind(d.activation), perTimeStep: inSequence)))
                stride = d.outputSize

            case .embedding(let e):
                throw .unsupportedModel("embedding layer '\(e.name)' is not the first layer of a tokens model")

            case .gru(let g):
                throw .unsupportedModel("gru layer '\(g.name)' (format 1.2) is not supported by this runtime yet")

            case .lstm(let l):
                guard inSequence else {
                    throw .unsupportedModel("lstm layer '\(l.name)' follows an lstm that returns only its last state")
                }
                guard l.inputSize == width, l.inputSize > 0, l.hiddenSize > 0 else {
                    throw .unsupportedModel("lstm layer '\(l.name)' expects \(l.inputSize) inputs, previous layer gives \(width)")
                }
                let h = l.hiddenSize
                let a = try values(l.weightIH, shape: [4 * h, l.inputSize])
                let r = try values(l.weightHH, shape: [4 * h, h])
                let bIH = try values(l.biasIH, shape: [4 * h])
                let bHH = try l.biasHH.map { name throws(RuntimeError) in try values(name, shape: [4 * h]) }
                    ?? [Float](repeating: 0, count: 4 * h)

                var inputWeight = a.map(Double.init)
                var inputColumns = l.inputSize
                var bias = (0..<(4 * h)).map { Double(bIH[$0]) + Double(bHH[$0]) }
                if !pending.isEmpty {
                    let chain = compose(pending)
                    let foldedCost = 4 * h * chain.columns
                    let unfoldedCost = pending.reduce(0) { $0 + $1.layer.inputSize * $1.layer.outputSize } + 4 * h * l.inputSize
                    if folding == .always || foldedCost <= unfoldedCost {
                        // W' = A M, b' = A v + b_ih + b_hh (see the type's comment).
                        inputWeight = multiply(inputWeight, rows: 4 * h, inner: l.inputSize, chain.matrix, columns: chain.columns)
                        for row in 0..<(4 * h) {
                            var sum = 0.0
                            for k in 0..<l.inputSize { sum += Double(a[row * l.inputSize + k]) * chain.vector[k] }
                            bias[row] += sum
                        }
                        inputColumns = chain.columns
                        folded += pending.count
                        pending.removeAll()
                    } else {
                        flush()
                    }
                }
                let padded = GateLayout.paddedHidden(h)
                if stages.isEmpty, case .embedding(let table, let vocabulary, let dimension, let maxLength) = inputStage,
                   case let (tableFloats, overflow) = vocabulary.multipliedReportingOverflow(by: 4 * padded),
                   !overflow, tableFloats <= embeddingFoldingLimit / 4 {
                    // The embedding folds into this LSTM's input projection: T = E W_ihᵀ + b.
                    inputStage = .foldedEmbedding(
                        table: foldEmbedding(table, vocabulary: vocabulary, dimension: dimension,
                                             inputWeight: inputWeight, bias: bias, hidden: h, padded: padded),
                        vocabulary: vocabulary, columns: 4 * padded, maxLength: maxLength)
                    stride = 0
                    inputColumns = 0
                    inputWeight = []
                }
                let interleavedInput = GateLayout.interleave(inputWeight, hidden: h, padded: padded, columns: inputColumns, stride: stride)
                let interleavedRecurrent = GateLayout.interleave(r.map(Double.init), hidden: h, padded: padded, columns: h, stride: padded)
                stages.append(.lstm(LSTMStage(
                    hidden: h, paddedHidden: padded, inputStride: stride,
                    inputWeight: interleavedInput, recurrentWeight: interleavedRecurrent,
                    bias: GateLayout.interleave(bias, hidden: h, padded: padded, columns: 1, stride: 1),
                    packedInputWeight: packForKernels && stride > 0 ? GateLayout.pack(interleavedInput, rows: 4 * padded, columns: stride) : [],
                    packedRecurrentWeight: packForKernels ? GateLayout.pack(interleavedRecurrent, rows: 4 * padded, columns: padded) : [],
                    returnsSequence: l.returns == .sequence)))
                width = h
                stride = padded
                inSequence = l.returns == .sequence
            }
        }
        guard !inSequence else {
            throw .unsupportedModel("no lstm layer returns its last state (spec §6.1 requires exactly one)")
        }
        guard width == metadata.labels.count else {
            throw .unsupportedModel("the last layer gives \(width) outputs but there are \(metadata.labels.count) labels")
        }
        return CompiledNetwork(input: inputStage, stages: stages, classCount: width, foldedDenseLayers: folded)
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

/// Copies a `[rows, columns]` matrix into `[rows, stride]`, zero-filling the extra columns.
func padColumns(_ m: [Float], rows: Int, columns: Int, stride: Int) -> [Float] {
    if columns == stride { return m }
    var out = [Float](repeating: 0, count: rows * stride)
    for r in 0..<rows {
        for c in 0..<columns { out[r * stride + c] = m[r * columns + c] }
    }
    return out
}
