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
        // x[t][j] = f32(src[t * W + j]) * scale + offset, in binary32 (spec §6.2).
        return try logits(features: pixels.map { Float($0) * scale + offset })
    }

    /// The logits of each already-normalized sequence (`count x T x W` values).
    package func logits(features: [Float]) throws(RuntimeError) -> [[Double]] {
        let input = file.metadata.input
        let t = input.height, w = input.width
        guard t * w > 0, features.count % (t * w) == 0 else {
            throw .inputLengthMismatch(valuesPerImage: t * w, found: features.count, what: "features")
        }
        var results: [[Double]] = []
        for image in 0..<(features.count / (t * w)) {
            var sequence: [[Double]] = (0..<t).map { step in
                (0..<w).map { Double(features[image * t * w + step * w + $0]) }
            }
            var vector: [Double] = []
            var isSequence = true
            for layer in file.metadata.layers {
                switch layer {
                case .dense(let d):
                    if isSequence {
                        sequence = try sequence.map { x throws(RuntimeError) in try dense(d, x) }
                    } else {
                        vector = try dense(d, vector)
                    }
                case .lstm(let l):
                    let outputs = try lstm(l, sequence)
                    if l.returns == .sequence {
                        sequence = outputs
                    } else {
                        vector = outputs.last ?? []
                        isSequence = false
                    }
                case .embedding(let e):
                    throw .unsupportedModel("embedding layer '\(e.name)': token models run through TextClassifier")
                }
            }
            results.append(vector)
        }
        return results
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
            switch d.activation {
            case .none: return y
            case .relu: return max(0, y)
            case .tanh: return tanh(y)
            }
        }
    }

    /// The LSTM recurrence of spec §6.1, from `h[-1] = c[-1] = 0`; returns `h[0..<T]`.
    private func lstm(_ l: LSTMLayer, _ xs: [[Double]]) throws(RuntimeError) -> [[Double]] {
        let hSize = l.hiddenSize, iSize = l.inputSize
        let a = try values(l.weightIH), r = try values(l.weightHH), bIH = try values(l.biasIH)
        let bHH = try l.biasHH.map { name throws(RuntimeError) in try values(name) } ?? Array(repeating: 0, count: 4 * hSize)
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

    private func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
}
