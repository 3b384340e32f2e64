import RNNFormat
import RNNRuntime
import RNNSupport  // libm: exp, tanh

/// A slow, literal implementation of spec §6 used as an oracle for the fast path.
///
/// Straight loops, Double accumulation, no folding, no padding, no BLAS, libm's `exp` and `tanh`:
/// every equation of spec §6.1 and §6.2 appears once, in the order the spec writes it. It is meant
/// for tests (a few images at a time), not for production.
package struct ReferenceModel: Sendable {
    /// The model file being evaluated.
    package let file: ModelFile

    /// Wraps `file`; nothing is checked until ``logits(pixels:)`` runs.
    package init(_ file: ModelFile) {
        self.file = file
    }

    /// The logits of each image given as raw `u8` pixels (`count x height x width`).
    ///
    /// - Throws: ``RuntimeError`` when the buffer is not a whole number of images or the model
    ///   references a missing tensor.
    package func logits(pixels: [UInt8]) throws(RuntimeError) -> [[Double]] {
        let input = file.metadata.input
        let scale = input.scale, offset = input.offset
        if input.kind == .image { return try imageLogits(pixels.map { Float($0) * scale + offset }) }
        // x[t][j] = f32(src[t * W + j]) * scale + offset, in binary32 (spec §6.2).
        return try logits(features: pixels.map { Float($0) * scale + offset })
    }

    /// The logits of each already-normalized sequence (`count x T x W` values, `T` the contract's
    /// `height`), one vector per sequence (the last step's outputs for a per-step model).
    package func logits(features: [Float]) throws(RuntimeError) -> [[Double]] {
        let input = file.metadata.input
        let t = input.height, w = input.width
        guard t * w > 0, features.count % (t * w) == 0 else {
            throw .inputLengthMismatch(valuesPerImage: t * w, found: features.count, what: "features")
        }
        return try (0..<(features.count / (t * w))).map { image throws(RuntimeError) in
            let sequence: [[Double]] = (0..<t).map { step in
                (0..<w).map { Double(features[image * t * w + step * w + $0]) }
            }
            return try run(sequence).last ?? []
        }
    }

    /// The outputs of each source sequence of a `features` model (`sequences[n]` holds `T_n x F`
    /// values, step-major): spec §6.2.2's standardization in binary32, then the layers. Each result
    /// is one vector for a model that returns its last state, or `T_n` vectors for a per-step model.
    package func outputs(sequences: [[Float]]) throws(RuntimeError) -> [[[Double]]] {
        let input = file.metadata.input
        let w = input.width
        var mean = [Float](repeating: 0, count: w), divisor = [Float](repeating: 1, count: w)
        if let f = input.features, let meanName = f.mean, let stdName = f.std {
            mean = try floats(meanName)
            divisor = try floats(stdName).map { $0 > 0 ? $0 : 1 }
        }
        return try sequences.map { source throws(RuntimeError) in
            guard !source.isEmpty, source.count % w == 0 else {
                throw .inputLengthMismatch(valuesPerImage: w, found: source.count, what: "features")
            }
            let xs: [[Double]] = (0..<(source.count / w)).map { step in
                // x = (src - mean) / d: a binary32 subtraction, then a binary32 division.
                (0..<w).map { j in Double((source[step * w + j] - mean[j]) / divisor[j]) }
            }
            return try run(xs)
        }
    }

    /// The layers of spec §6.1 over one input sequence: `[y]` for a model whose last recurrent layer
    /// returns its last state or is pooled, `[y[0], ..., y[T-1]]` for one that returns its sequence (spec §6.5).
    package func run(_ input: [[Double]]) throws(RuntimeError) -> [[Double]] {
        var sequence = input
        for layer in file.metadata.layers {
            switch layer {
            case .dense(let d):
                sequence = try sequence.map { x throws(RuntimeError) in try dense(d, x) }
            case .lstm(let l):
                let forward = try lstm(l.hiddenSize, l.inputSize, l.weightIH, l.weightHH, l.biasIH, l.biasHH, sequence)
                sequence = try recurrentOutput(forward, l.returns, l.reverse, sequence) { r, xs throws(RuntimeError) in
                    try lstm(l.hiddenSize, l.inputSize, r.weightIH, r.weightHH, r.biasIH, r.biasHH, xs)
                }
            case .gru(let g):
                let forward = try gru(g, g.weightIH, g.weightHH, g.biasIH, g.biasHH, sequence)
                sequence = try recurrentOutput(forward, g.returns, g.reverse, sequence) { r, xs throws(RuntimeError) in
                    try gru(g, r.weightIH, r.weightHH, r.biasIH, r.biasHH, xs)
                }
            case .pool(let p):
                sequence = [pool(p, sequence)]
            case .embedding(let e):
                throw .unsupportedModel("embedding layer '\(e.name)': the reference runs image and feature models")
            case .conv1d(let c):
                sequence = try conv1d(c, sequence)
            case .conv2d, .maxPool2d, .flatten:
                throw .unsupportedModel("layer '\(layer.name)' belongs to an image model")
            }
        }
        return sequence
    }

    // MARK: Image models (spec §6.1 rule 2c, §6.2.3)

    /// A feature map `x[c][i][j]`.
    private typealias Map = [[[Double]]]

    /// The logits of each normalized image (`count x C x H x W` values, channels first) of an image model.
    package func imageLogits(_ values: [Float]) throws(RuntimeError) -> [[Double]] {
        let input = file.metadata.input
        let c = input.channels, h = input.height, w = input.width, per = c * h * w
        guard per > 0, values.count % per == 0 else {
            throw .inputLengthMismatch(valuesPerImage: per, found: values.count, what: "pixels")
        }
        return try (0..<(values.count / per)).map { n throws(RuntimeError) in
            var map: Map = (0..<c).map { ch in (0..<h).map { i in (0..<w).map { j in Double(values[n * per + (ch * h + i) * w + j]) } } }
            var vector: [Double] = []
            for layer in file.metadata.layers {
                switch layer {
                case .conv2d(let conv): map = try conv2d(conv, map)
                case .maxPool2d(let pool): map = maxPool2d(pool.window, map)
                case .flatten:
                    // v[(c * H + i) * W + j] = x[c][i][j]: channels, then rows, then columns.
                    vector = map.flatMap { $0.flatMap { $0 } }
                case .dense(let d): vector = try dense(d, vector)
                default: throw .unsupportedModel("layer '\(layer.name)' does not belong to an image model")
                }
            }
            return vector
        }
    }

    /// `y[o][i][j] = B[o] + sum W[o][c][u][v] x[c][i*SH + u - PT][j*SW + v - PL]`, zero outside (spec §6.1, `conv2d`).
    private func conv2d(_ layer: Conv2DLayer, _ x: Map) throws(RuntimeError) -> Map {
        let w = layer.window, inH = x[0].count, inW = x[0][0].count
        guard let out = w.outputSize(height: inH, width: inW) else { throw .unsupportedModel("conv2d '\(layer.name)' does not fit") }
        let weight = try values(layer.weight), c = layer.inChannels, kh = w.kernelHeight, kw = w.kernelWidth
        let bias = try layer.bias.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: layer.outChannels)
        return (0..<layer.outChannels).map { o in (0..<out.height).map { i in (0..<out.width).map { j in
            var y = bias[o]
            for ch in 0..<c { for u in 0..<kh { for v in 0..<kw {
                let r = i * w.strideHeight + u - w.padTop, s = j * w.strideWidth + v - w.padLeft
                if r >= 0 && r < inH && s >= 0 && s < inW { y += weight[((o * c + ch) * kh + u) * kw + v] * x[ch][r][s] }
            } } }
            return activate(layer.activation, y)
        } } }
    }

    /// The maximum over each window's positions inside the map (spec §6.1, `maxpool2d`, floor mode).
    private func maxPool2d(_ w: Window2D, _ x: Map) -> Map {
        let inH = x[0].count, inW = x[0][0].count
        let out = w.outputSize(height: inH, width: inW)!
        return x.map { plane in (0..<out.height).map { i in (0..<out.width).map { j in
            var m = -Double.infinity
            for u in 0..<w.kernelHeight { for v in 0..<w.kernelWidth {
                let r = i * w.strideHeight + u - w.padTop, s = j * w.strideWidth + v - w.padLeft
                if r >= 0 && r < inH && s >= 0 && s < inW { m = max(m, plane[r][s]) }
            } }
            return m
        } } }
    }

    /// `y[t][o] = B[o] + sum W[o][c][u] x[t*S + u - PB][c]` over the sequence's own `T'` steps (spec §6.1, `conv1d`).
    private func conv1d(_ layer: Conv1DLayer, _ xs: [[Double]]) throws(RuntimeError) -> [[Double]] {
        let w = layer.window, weight = try values(layer.weight), c = layer.inChannels, k = w.kernel
        let bias = try layer.bias.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: layer.outChannels)
        return (0..<w.outputLength(xs.count)).map { t in (0..<layer.outChannels).map { o in
            var y = bias[o]
            for u in 0..<k {
                let s = t * w.stride + u - w.padBefore
                if s >= 0 && s < xs.count { for ch in 0..<c { y += weight[(o * c + ch) * k + u] * xs[s][ch] } }
            }
            return activate(layer.activation, y)
        } }
    }

    private func activate(_ a: Activation, _ y: Double) -> Double {
        switch a {
        case .none: y
        case .relu: max(0, y)
        case .tanh: tanh(y)
        }
    }

    /// A recurrent layer's output (spec §6.1, *Direction*): `h[t]`, or `[hf[t], hb[t]]` when
    /// bidirectional, the backward direction run over the reversed sequence; `"last"` keeps
    /// `[hf[T-1], hb[0]]`.
    private func recurrentOutput(_ forward: [[Double]], _ returns: SequenceReturn, _ reverse: ReverseTensors?,
                                 _ xs: [[Double]],
                                 _ cell: (ReverseTensors, [[Double]]) throws(RuntimeError) -> [[Double]]) throws(RuntimeError) -> [[Double]] {
        var out = forward
        if let reverse {
            let backward = Array(try cell(reverse, xs.reversed()).reversed())   // backward[t] = hb[t]
            out = zip(forward, backward).map { $0 + $1 }
            if returns == .last { return [forward.last! + backward.first!] }
        }
        return returns == .last ? [out.last ?? []] : out
    }

    /// Pooling over time (spec §6.1, `pool`): the mean (a sum in increasing `t`, then a division by
    /// `T`) or the column-wise maximum of the `T` step rows; zeros for `T = 0`.
    private func pool(_ p: PoolLayer, _ steps: [[Double]]) -> [Double] {
        guard var y = steps.first else { return [Double](repeating: 0, count: p.size) }
        for h in steps.dropFirst() {
            for j in 0..<p.size { y[j] = p.mode == .mean ? y[j] + h[j] : max(y[j], h[j]) }
        }
        return p.mode == .mean ? y.map { $0 / Double(steps.count) } : y
    }

    private func floats(_ name: String) throws(RuntimeError) -> [Float] {
        guard let tensor = file.tensor(named: name) else { throw .unsupportedModel("tensor '\(name)' is missing") }
        return tensor.floatValues()
    }

    private func values(_ name: String) throws(RuntimeError) -> [Double] {
        guard let tensor = file.tensor(named: name) else {
            throw .unsupportedModel("tensor '\(name)' is missing")
        }
        return tensor.floatValues().map(Double.init)
    }

    /// `y = activation(W x + b)` (spec §6.1, `dense`).
    private func dense(_ d: DenseLayer, _ x: [Double]) throws(RuntimeError) -> [Double] {
        let weight = try values(d.weight)
        let bias = try d.bias.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: d.outputSize)
        return (0..<d.outputSize).map { o in
            var y = bias[o]
            for i in 0..<d.inputSize { y += weight[o * d.inputSize + i] * x[i] }
            return activate(d.activation, y)
        }
    }

    /// The LSTM recurrence of spec §6.1, from `h[-1] = c[-1] = 0`; returns `h[0..<T]`.
    private func lstm(_ hSize: Int, _ iSize: Int, _ wIH: String, _ wHH: String, _ biasIH: String, _ biasHH: String?,
                      _ xs: [[Double]]) throws(RuntimeError) -> [[Double]] {
        let a = try values(wIH), r = try values(wHH), bIH = try values(biasIH)
        let bHH = try biasHH.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: 4 * hSize)
        var h = [Double](repeating: 0, count: hSize)
        var c = [Double](repeating: 0, count: hSize)
        var outputs: [[Double]] = []
        for x in xs {
            // z = A x[t] + b_ih + R h[t-1] + b_hh
            var z = [Double](repeating: 0, count: 4 * hSize)
            for row in 0..<(4 * hSize) {
                var sum = bIH[row] + bHH[row]
                for k in 0..<iSize { sum += a[row * iSize + k] * x[k] }
                for k in 0..<hSize { sum += r[row * hSize + k] * h[k] }
                z[row] = sum
            }
            for j in 0..<hSize {
                let i = sigmoid(z[j]), f = sigmoid(z[hSize + j])
                let g = tanh(z[2 * hSize + j]), o = sigmoid(z[3 * hSize + j])
                c[j] = f * c[j] + i * g
                h[j] = o * tanh(c[j])
            }
            outputs.append(h)
        }
        return outputs
    }

    /// The GRU recurrence of spec §6.1 (gate order r, z, n; `reset` after or before the recurrent
    /// product), from `h[-1] = 0`; returns `h[0..<T]`.
    private func gru(_ g: GRULayer, _ wIH: String, _ wHH: String, _ biasIH: String, _ biasHH: String?,
                     _ xs: [[Double]]) throws(RuntimeError) -> [[Double]] {
        let hSize = g.hiddenSize
        let a = try values(wIH), r = try values(wHH), b1 = try values(biasIH)
        let b2 = try biasHH.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: 3 * hSize)
        func dot(_ m: [Double], _ row: Int, _ v: [Double]) -> Double {
            var sum = 0.0
            for k in 0..<v.count { sum += m[row * v.count + k] * v[k] }
            return sum
        }
        var h = [Double](repeating: 0, count: hSize)
        var outputs: [[Double]] = []
        for x in xs {
            var rGate = [Double](repeating: 0, count: hSize), zGate = rGate
            for j in 0..<hSize {
                rGate[j] = sigmoid(dot(a, j, x) + b1[j] + dot(r, j, h) + b2[j])
                zGate[j] = sigmoid(dot(a, hSize + j, x) + b1[hSize + j] + dot(r, hSize + j, h) + b2[hSize + j])
            }
            let resetH = zip(rGate, h).map { $0 * $1 }
            var next = h
            for j in 0..<hSize {
                let row = 2 * hSize + j
                let n = switch g.reset {
                case .after: tanh(dot(a, row, x) + b1[row] + rGate[j] * (dot(r, row, h) + b2[row]))
                case .before: tanh(dot(a, row, x) + b1[row] + dot(r, row, resetH) + b2[row])
                }
                next[j] = (1 - zGate[j]) * n + zGate[j] * h[j]
            }
            h = next
            outputs.append(h)
        }
        return outputs
    }

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
}
