import RNNCore
/// How the initial weights are drawn.
package enum InitializationScheme: String, Sendable, Codable, CaseIterable {
    /// Glorot-uniform dense and `W_ih`, orthogonal `W_hh` per gate block, LSTM forget-gate bias 1,
    /// other biases (every GRU bias) 0. The trainer's default.
    case standard
    /// The course notebook (TensorFlow 1 tutorial): `dense_in` and `dense_out` weights *and*
    /// biases from `tf.random_normal` (mean 0, standard deviation 1); the LSTM as TF1's
    /// `BasicLSTMCell`: Glorot-uniform kernel over the concatenated `[x, h]` input, zero bias,
    /// `forget_bias = 1.0` folded into `b_ih` (spec §6.1).
    case tutorial
}

/// All weights of one classifier in one flat vector (see ``ParameterLayout``).
package struct LSTMParameters<Scalar: TrainingScalar>: Sendable, Equatable {
    /// The network's shape.
    package let architecture: LSTMArchitecture
    /// Where each tensor lives in ``values``.
    package let layout: ParameterLayout
    /// Every parameter, in layout order.
    package var values: [Scalar]

    /// All-zero parameters.
    package init(architecture: LSTMArchitecture) {
        self.architecture = architecture
        layout = architecture.layout
        values = [Scalar](repeating: 0, count: layout.count)
    }

    /// Parameters with the given values, which must have `layout.count` elements.
    package init(architecture: LSTMArchitecture, values: [Scalar]) {
        self.architecture = architecture
        layout = architecture.layout
        precondition(values.count == layout.count, "parameter count mismatch")
        self.values = values
    }

    /// Freshly initialized parameters drawn from `seed` (see ``InitializationScheme``).
    package init(architecture: LSTMArchitecture, seed: UInt64, scheme: InitializationScheme = .standard) {
        self.init(architecture: architecture)
        var rng = Xoshiro256StarStar(seed: seed)
        let h = architecture.hiddenSize
        let layout = self.layout
        switch scheme {
        case .standard:
            if let w = layout.denseInWeight { fillGlorotUniform(w, &rng) }
            if let e = layout.embedding { fillUniform(e, limit: Self.embeddingLimit, &rng) }
            for slots in layout.recurrent.joined() {
                fillGlorotUniform(slots.weightIH, &rng)
                fillOrthogonalBlocks(slots.weightHH, blockRows: h, &rng)
                // LSTM forget-gate bias 1 (Jozefowicz et al. 2015): rows [H, 2H) of b_ih.
                if architecture.cell == .lstm {
                    for j in h..<(2 * h) { values[slots.biasIH.offset + j] = 1 }
                }
            }
            fillGlorotUniform(layout.denseOutWeight, &rng)
        case .tutorial:
            if let w = layout.denseInWeight, let b = layout.denseInBias {
                fillNormal(w, &rng)
                fillNormal(b, &rng)
            }
            if let e = layout.embedding { fillUniform(e, limit: Self.embeddingLimit, &rng) }
            for slots in layout.recurrent.joined() {
                // TF1 BasicLSTMCell: one kernel [in + H, 4H] with Glorot-uniform over that shape.
                let limit = (6.0 / Double(slots.weightIH.shape[1] + h + architecture.gateRows)).squareRoot()
                for slot in [slots.weightIH, slots.weightHH] {
                    for k in slot.range { values[k] = Scalar(rng.nextDouble(in: -limit, limit)) }
                }
                if architecture.cell == .lstm {
                    for j in h..<(2 * h) { values[slots.biasIH.offset + j] = 1 }
                }
            }
            fillNormal(layout.denseOutWeight, &rng)
            fillNormal(layout.denseOutBias, &rng)
        }
    }

    /// An embedding table starts uniform in `±0.1`: small next to the recurrent weights, so that
    /// early steps see every word at a similar scale (the text trainer's measured recipe).
    static var embeddingLimit: Double { 0.1 }

    /// Glorot/Xavier uniform: `U(-sqrt(6/(fan_in+fan_out)), +...)` with fan_out = rows, fan_in = columns.
    private mutating func fillGlorotUniform(_ slot: ParameterSlot, _ rng: inout Xoshiro256StarStar) {
        fillUniform(slot, limit: (6.0 / Double(slot.shape[0] + slot.shape[1])).squareRoot(), &rng)
    }

    private mutating func fillUniform(_ slot: ParameterSlot, limit: Double, _ rng: inout Xoshiro256StarStar) {
        for k in slot.range { values[k] = Scalar(rng.nextDouble(in: -limit, limit)) }
    }

    private mutating func fillNormal(_ slot: ParameterSlot, _ rng: inout Xoshiro256StarStar) {
        for k in slot.range { values[k] = Scalar(rng.nextNormal()) }
    }

    /// Each `[blockRows, columns]` gate block of `slot` gets an orthogonal matrix (as Keras'
    /// `Orthogonal` initializer applied per gate): Gram–Schmidt on a Gaussian matrix.
    private mutating func fillOrthogonalBlocks(_ slot: ParameterSlot, blockRows: Int, _ rng: inout Xoshiro256StarStar) {
        let columns = slot.shape[1]
        for block in 0..<(slot.shape[0] / blockRows) {
            let q = orthogonalMatrix(rows: blockRows, columns: columns, &rng)
            let base = slot.offset + block * blockRows * columns
            for k in 0..<q.count { values[base + k] = Scalar(q[k]) }
        }
    }

    /// The same parameters in another scalar type.
    package func converted<Other: TrainingScalar>(to: Other.Type = Other.self) -> LSTMParameters<Other> {
        LSTMParameters<Other>(architecture: architecture, values: values.map { Other($0) })
    }

    /// A copy of one tensor's values.
    package func tensor(_ slot: ParameterSlot) -> [Scalar] { Array(values[slot.range]) }
}

/// A `rows x columns` matrix with orthonormal rows (if rows <= columns) or orthonormal columns
/// (otherwise), row-major, from modified Gram–Schmidt on i.i.d. normal samples.
///
/// Gram–Schmidt of a Gaussian matrix is its QR factorization's Q (up to column signs), which is
/// Haar-distributed; modified Gram–Schmidt in float64 is accurate enough for these sizes.
func orthogonalMatrix(rows: Int, columns: Int, _ rng: inout Xoshiro256StarStar) -> [Double] {
    // Orthonormalize the `n` vectors of length `len` in the longer direction's transpose.
    let n = min(rows, columns), len = max(rows, columns)
    var vectors = [Double](repeating: 0, count: n * len)
    var k = 0
    while k < n {
        for e in 0..<len { vectors[k * len + e] = rng.nextNormal() }
        for p in 0..<k {
            var dot = 0.0
            for e in 0..<len { dot += vectors[p * len + e] * vectors[k * len + e] }
            for e in 0..<len { vectors[k * len + e] -= dot * vectors[p * len + e] }
        }
        var norm = 0.0
        for e in 0..<len { norm += vectors[k * len + e] * vectors[k * len + e] }
        norm = norm.squareRoot()
        // A (vanishingly unlikely) dependent draw is simply redrawn.
        guard norm > 1e-8 else { continue }
        for e in 0..<len { vectors[k * len + e] /= norm }
        k += 1
    }
    if rows <= columns { return vectors }  // rows are the orthonormal vectors
    var result = [Double](repeating: 0, count: rows * columns)
    for c in 0..<columns { for r in 0..<rows { result[r * columns + c] = vectors[c * len + r] } }
    return result
}
