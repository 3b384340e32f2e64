import CBLAS

/// Where a block's input comes from: raw source pixels (the input contract is applied here) or
/// features that are already `x[t][j]` values.
enum BlockInput {
    case pixels(UnsafePointer<UInt8>)
    case features(UnsafePointer<Float>)
}

/// Which implementation of `sigmoid` and `tanh` the LSTM gate pass uses.
public enum ActivationMath: Sendable, Equatable {
    /// The vectorized approximations (absolute error below 1e-6; see the tests).
    case fast
    /// The platform's libm, one value at a time (for validation and measurement).
    case libm
}

/// Runs the compiled network on one block of images (spec §6): the fast path.
///
/// Data stays time-major inside a block: row `t * B + b` of a sequence buffer is time step `t` of
/// image `b`, so the rows of one time step are contiguous and every stage is a single GEMM over
/// all of them.
struct BlockForward {
    let network: CompiledNetwork
    let math: ActivationMath
    /// The fused kernel to run LSTMs with, or `.none` for the portable path.
    let fused: FusedKernel

    init(network: CompiledNetwork, math: ActivationMath, kernel: StepKernel) {
        self.network = network
        self.math = math
        // The fused kernels implement the fast activations only.
        switch (kernel, math) {
        case (.automatic, .fast): fused = FusedKernel.detected
        case (.fused(let variant), .fast): fused = variant
        default: fused = .none
        }
    }

    /// Classifies `count` images starting at `input` and writes `count x classCount` logits.
    func run(_ input: BlockInput, count: Int, workspace ws: Workspace, logits: UnsafeMutablePointer<Float>) {
        precondition(count <= ws.capacity)
        let t = network.timeSteps
        let w = network.featureWidth
        let first = ws.sequences.0
        loadInput(input, count: count, into: first)

        var current = UnsafePointer(first)
        var stride = w
        var sequenceFlip = true    // next sequence output goes to sequences.1
        var vectorFlip = false     // next vector output goes to vectors.0
        for stage in network.stages {
            switch stage {
            case .dense(let d):
                let rows = d.perTimeStep ? t * count : count
                let out: UnsafeMutablePointer<Float>
                if d.perTimeStep {
                    out = sequenceFlip ? ws.sequences.1 : ws.sequences.0
                    sequenceFlip.toggle()
                } else {
                    out = vectorFlip ? ws.vectors.1 : ws.vectors.0
                    vectorFlip.toggle()
                }
                dense(d, input: current, rows: rows, output: out)
                current = UnsafePointer(out)
                stride = d.outputSize
            case .lstm(let l):
                let out: UnsafeMutablePointer<Float>?
                if l.returnsSequence {
                    out = sequenceFlip ? ws.sequences.1 : ws.sequences.0
                    sequenceFlip.toggle()
                } else {
                    out = nil
                }
                current = fused == .none
                    ? lstm(l, input: current, count: count, sequenceOutput: out, workspace: ws)
                    : fusedLSTM(l, kernel: fused, input: current, count: count, sequenceOutput: out, workspace: ws)
                stride = l.paddedHidden
            }
        }
        // The last stage's rows may be padded (an LSTM as the last layer); copy out the classes.
        let classes = network.classCount
        for b in 0..<count {
            (logits + b * classes).update(from: current + b * stride, count: classes)
        }
    }

    /// Applies the input contract (spec §6.2) and transposes to time-major:
    /// `x[(t * B + b) * W + j] = f32(src[b][t * W + j]) * scale + offset`.
    private func loadInput(_ input: BlockInput, count: Int, into x: UnsafeMutablePointer<Float>) {
        let t = network.timeSteps
        let w = network.featureWidth
        switch input {
        case .pixels(let src):
            let scale = network.scale
            let offset = network.offset
            for b in 0..<count {
                for step in 0..<t {
                    let from = src + (b * t + step) * w
                    let to = x + (step * count + b) * w
                    for j in 0..<w { to[j] = Float(from[j]) * scale + offset }
                }
            }
        case .features(let src):
            for b in 0..<count {
                for step in 0..<t {
                    (x + (step * count + b) * w).update(from: src + (b * t + step) * w, count: w)
                }
            }
        }
    }

    /// `output = activation(input W^T + b)` for `rows` rows, as one GEMM (step (f)).
    private func dense(_ d: DenseStage, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        d.bias.withUnsafeBufferPointer { bias in
            for r in 0..<rows { (output + r * d.outputSize).update(from: bias.baseAddress!, count: d.outputSize) }
        }
        d.weight.withUnsafeBufferPointer { weight in
            sgemmAccumulate(rows: rows, columns: d.outputSize, inner: d.inputStride,
                            a: input, lda: d.inputStride, weight: weight.baseAddress!, ldw: d.inputStride,
                            c: output, ldc: d.outputSize)
        }
        let n = rows * d.outputSize
        switch d.activation {
        case .none: break
        case .relu: for i in 0..<n { output[i] = max(0, output[i]) }
        case .tanh: for i in 0..<n { output[i] = libmTanh(output[i]) }
        }
    }

    /// Runs one LSTM layer over a block and returns where its output lies.
    ///
    /// (b) one GEMM projects the inputs of all `T` steps at once, bias included;
    /// (c) per step one `[B, Hp] x [Hp, 4Hp]` GEMM adds `R h[t-1]` onto that step's projection
    ///     (skipped at `t = 0`, where `h[-1] = 0`);
    /// (d) one fused pass over the `[B, 4Hp]` pre-activations updates `c` and writes `h`.
    private func lstm(_ l: LSTMStage, input: UnsafePointer<Float>, count: Int,
                      sequenceOutput: UnsafeMutablePointer<Float>?, workspace ws: Workspace) -> UnsafePointer<Float> {
        let t = network.timeSteps
        let hp = l.paddedHidden
        let gates = 4 * hp
        let z = ws.projection
        l.bias.withUnsafeBufferPointer { bias in
            for r in 0..<(t * count) { (z + r * gates).update(from: bias.baseAddress!, count: gates) }
        }
        l.inputWeight.withUnsafeBufferPointer { weight in
            sgemmAccumulate(rows: t * count, columns: gates, inner: l.inputStride,
                            a: input, lda: l.inputStride, weight: weight.baseAddress!, ldw: l.inputStride,
                            c: z, ldc: gates)
        }
        ws.cell.update(repeating: 0, count: count * hp)
        var previous: UnsafeMutablePointer<Float>? = nil
        l.recurrentWeight.withUnsafeBufferPointer { recurrent in
            for step in 0..<t {
                let zStep = z + step * count * gates
                if let previous {
                    sgemmAccumulate(rows: count, columns: gates, inner: hp,
                                    a: previous, lda: hp, weight: recurrent.baseAddress!, ldw: hp,
                                    c: zStep, ldc: gates)
                }
                let h: UnsafeMutablePointer<Float>
                if let sequenceOutput {
                    h = sequenceOutput + step * count * hp
                } else {
                    h = step % 2 == 0 ? ws.hidden.0 : ws.hidden.1
                }
                switch math {
                case .fast: gatePassFast(z: zStep, cell: ws.cell, hidden: h, units: count * hp)
                case .libm: gatePassLibm(z: zStep, cell: ws.cell, hidden: h, units: count * hp)
                }
                previous = h
            }
        }
        if let sequenceOutput { return UnsafePointer(sequenceOutput) }
        return UnsafePointer(previous!)
    }
}

/// `c += a W^T` with `a` `[rows, inner]` and `W` `[columns, inner]`, row-major (single-precision GEMM).
///
/// A single row goes to GEMV instead: SGEMM packs all of `W` on every call, which for one row costs
/// more than the product itself (measured: 17.7 us vs 3 us for a 512 x 128 step at batch 1).
@inline(__always)
func sgemmAccumulate(rows: Int, columns: Int, inner: Int,
                     a: UnsafePointer<Float>, lda: Int, weight: UnsafePointer<Float>, ldw: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
    if rows == 1 {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(columns), blasint(inner),
                    1, weight, blasint(ldw), a, 1, 1, c, 1)
        return
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                blasint(rows), blasint(columns), blasint(inner),
                1, a, blasint(lda), weight, blasint(ldw),
                1, c, blasint(ldc))
}

/// The fused gate pass over interleaved pre-activations (layout in ``LSTMStage``).
///
/// `units` is `B * Hp`; rows are contiguous, so the whole block is one flat loop: chunk `q` reads
/// `z[32q ..< 32q + 32]` (i, f, g, o for 8 units) and updates `cell[8q ..< 8q + 8]` and
/// `hidden[8q ..< 8q + 8]`:  `c = f c + i g`,  `h = o tanh(c)`  (spec §6.1).
@inline(__always)
func gatePassFast(z: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                  hidden: UnsafeMutablePointer<Float>, units: Int) {
    let zRaw = UnsafeRawPointer(z)
    let cRaw = UnsafeMutableRawPointer(cell)
    let hRaw = UnsafeMutableRawPointer(hidden)
    let laneBytes = MemoryLayout<Lanes>.size
    for q in 0..<(units / laneCount) {
        let base = zRaw + q * 4 * laneBytes
        let i = fastSigmoid(base.loadUnaligned(as: Lanes.self))
        let f = fastSigmoid(base.loadUnaligned(fromByteOffset: laneBytes, as: Lanes.self))
        let g = fastTanh(base.loadUnaligned(fromByteOffset: 2 * laneBytes, as: Lanes.self))
        let o = fastSigmoid(base.loadUnaligned(fromByteOffset: 3 * laneBytes, as: Lanes.self))
        let c = f * cRaw.loadUnaligned(fromByteOffset: q * laneBytes, as: Lanes.self) + i * g
        cRaw.storeBytes(of: c, toByteOffset: q * laneBytes, as: Lanes.self)
        hRaw.storeBytes(of: o * fastTanh(c), toByteOffset: q * laneBytes, as: Lanes.self)
    }
}

/// The same pass with libm's scalar `expf` and `tanhf`.
func gatePassLibm(z: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                  hidden: UnsafeMutablePointer<Float>, units: Int) {
    for u in 0..<units {
        let base = (u / laneCount) * 4 * laneCount + u % laneCount
        let i = 1 / (1 + libmExp(-z[base]))
        let f = 1 / (1 + libmExp(-z[base + laneCount]))
        let g = libmTanh(z[base + 2 * laneCount])
        let o = 1 / (1 + libmExp(-z[base + 3 * laneCount]))
        let c = f * cell[u] + i * g
        cell[u] = c
        hidden[u] = o * libmTanh(c)
    }
}
