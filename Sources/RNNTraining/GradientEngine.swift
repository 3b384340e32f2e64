import Dispatch
import RNNCore

/// Unchecked wrapper that lets raw pointers cross into `concurrentPerform`'s closure. Safe here
/// because every worker touches only its own workspace and reads shared data that nobody writes
/// while the workers run.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

/// Where a batch's inputs come from.
enum BatchSource<Scalar: TrainingScalar> {
    /// u8 images `[N, T*I]`, scaled by `scale`.
    case images(UnsafeBufferPointer<UInt8>, scale: Scalar)
    /// Batch-major sequences `[N, T, I]` (tests and the float64 reference path), each padded to
    /// `T` steps; `lengths` (one per sequence, each in `1...T`) says how many of them are real
    /// (nil: all `T`). Padding steps change no output (spec §6.2.2; see ``Workspace/forward``).
    case sequences(UnsafeBufferPointer<Scalar>, lengths: UnsafeBufferPointer<Int>? = nil)
    /// Token sequences for a model with an embedding: sequence `i` is `ids[offsets[i] ..< offsets[i+1]]`
    /// (``PackedTokens``), of any length up to the engine's `timeSteps`, empty included. A batch runs
    /// as many steps as its longest sequence.
    case tokens(UnsafeBufferPointer<Int32>, offsets: UnsafeBufferPointer<Int>)
}

/// Runs batches forward (and back) on `workerCount` threads, each on its own slice of the batch.
///
/// Splitting the batch, rather than letting OpenBLAS split every product, means the workers
/// synchronize once per batch instead of at every one of the ~100 GEMMs of a step. The split is
/// fixed (worker `w` takes the `w`-th contiguous slice) and the gradients are summed in worker
/// order, so for a given worker count the result is bitwise reproducible.
final class GradientEngine<Scalar: TrainingScalar> {
    let architecture: LSTMArchitecture
    let timeSteps: Int
    let workers: [Workspace<Scalar>]
    /// The fused-kernel variant the float32 passes use (``FusedStep``); `.none` for BLAS only.
    let kernel: KernelISA

    init(architecture: LSTMArchitecture, timeSteps: Int, batchCapacity: Int, workerCount: Int,
         kernel: KernelISA = .detected) {
        self.architecture = architecture
        self.timeSteps = timeSteps
        self.kernel = kernel
        let n = max(1, min(workerCount, batchCapacity))
        let perWorker = (batchCapacity + n - 1) / n
        workers = (0..<n).map { _ in Workspace(architecture: architecture, capacity: perWorker, timeSteps: timeSteps, kernel: kernel) }
    }

    /// The contiguous slice of `0..<count` that worker `w` handles.
    private func share(_ w: Int, of count: Int) -> Range<Int> {
        let n = workers.count
        return (w * count / n)..<((w + 1) * count / n)
    }

    /// Mean cross-entropy gradient of the batch `indices` into `gradient` (layout order);
    /// returns the summed loss and the number of correct predictions. With `dropout`, worker `w`
    /// draws its masks from ``dropoutGenerator(seed:step:worker:)`` (see ``DropoutMasks``).
    func lossAndGradient(
        parameters: UnsafeBufferPointer<Scalar>, source: BatchSource<Scalar>, labels: UnsafeBufferPointer<Int>,
        indices: ArraySlice<Int>, gradient: UnsafeMutableBufferPointer<Scalar>,
        dropout: (rates: DropoutRates, seed: UInt64, step: Int)? = nil
    ) -> (loss: Double, correct: Int) {
        let count = indices.count
        let prepared = PreparedWeights(parameters: parameters, layout: architecture.layout, architecture: architecture, kernel: kernel)
        let scale = 1 / Scalar(count)
        var results = [(loss: Double, correct: Int)](repeating: (0, 0), count: workers.count)
        let shared = UncheckedSendable(value: (parameters, source, labels, indices, prepared))
        results.withUnsafeMutableBufferPointer { out in
            let output = UncheckedSendable(value: out)
            let work = UncheckedSendable(value: workers)
            let run: @Sendable (Int) -> Void = { w in
                let (parameters, source, labels, indices, prepared) = shared.value
                let range = self.share(w, of: count)
                let mine = indices[(indices.startIndex + range.lowerBound)..<(indices.startIndex + range.upperBound)]
                guard !mine.isEmpty else {
                    work.value[w].gradient.update(repeating: 0)
                    return
                }
                let ws = work.value[w]
                ws.load(source, indices: mine)
                ws.masks = nil
                if let dropout, !dropout.rates.isZero {
                    var generator = dropoutGenerator(seed: dropout.seed, step: dropout.step, worker: w)
                    ws.masks = DropoutMasks(dropout.rates, architecture: self.architecture, timeSteps: ws.timeSteps,
                                            count: mine.count, generator: &generator)
                }
                ws.forward(parameters: parameters.baseAddress!, prepared: prepared, count: mine.count)
                let batchLabels = mine.map { labels[$0] }
                let r = batchLabels.withUnsafeBufferPointer {
                    ws.softmaxCrossEntropy(labels: $0.baseAddress!, count: mine.count, gradientScale: scale)
                }
                ws.backward(parameters: parameters.baseAddress!, count: mine.count)
                output.value[w] = r
            }
            if workers.count == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers.count, execute: run) }
        }
        // Sum the workers' gradients in a fixed order, then map dW', db' back (linear, so once).
        let total = workers[0].gradient
        for w in 1..<workers.count {
            let part = workers[w].gradient
            for k in 0..<total.count { total[k] += part[k] }
        }
        finishGradient(parameters: parameters.baseAddress!, gradient: total.baseAddress!, architecture: architecture)
        _ = gradient.update(fromContentsOf: total[0..<gradient.count])
        return results.reduce((0, 0)) { ($0.loss + $1.loss, $0.correct + $1.correct) }
    }

    /// Logits `[count, C]` for the batch `indices` (forward only, no gradient).
    func logits(parameters: UnsafeBufferPointer<Scalar>, source: BatchSource<Scalar>, indices: ArraySlice<Int>) -> [Scalar] {
        let count = indices.count, c = architecture.classCount
        let prepared = PreparedWeights(parameters: parameters, layout: architecture.layout, architecture: architecture, kernel: kernel)
        var out = [Scalar](repeating: 0, count: count * c)
        let shared = UncheckedSendable(value: (parameters, source, indices, prepared))
        out.withUnsafeMutableBufferPointer { o in
            let output = UncheckedSendable(value: o)
            let work = UncheckedSendable(value: workers)
            let run: @Sendable (Int) -> Void = { w in
                let (parameters, source, indices, prepared) = shared.value
                let range = self.share(w, of: count)
                guard !range.isEmpty else { return }
                let mine = indices[(indices.startIndex + range.lowerBound)..<(indices.startIndex + range.upperBound)]
                let ws = work.value[w]
                ws.load(source, indices: mine)
                ws.masks = nil  // evaluation never drops
                ws.forward(parameters: parameters.baseAddress!, prepared: prepared, count: mine.count)
                (output.value.baseAddress! + range.lowerBound * c).update(from: ws.logits, count: mine.count * c)
            }
            if workers.count == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers.count, execute: run) }
        }
        return out
    }
}

extension GradientEngine: @unchecked Sendable {}

extension Workspace {
    /// Loads the inputs of `indices` from `source` into ``input``.
    func load(_ source: BatchSource<Scalar>, indices: ArraySlice<Int>) {
        switch source {
        case .images(let pixels, let scale):
            loadImages(pixels, indices: indices, scale: scale)
        case .tokens(let ids, let offsets):
            loadTokens(ids, offsets: offsets, indices: indices)
        case .sequences(let x, let sequenceLengths):
            timeSteps = maximumSteps
            let inputs = architecture.inputSize, stride = timeSteps * inputs
            let count = indices.count
            lengths = sequenceLengths.map { all in
                indices.map { index in
                    precondition((1...timeSteps).contains(all[index]), "sequence length \(all[index]) outside 1...\(timeSteps)")
                    return all[index]
                }
            }
            for (b, index) in indices.enumerated() {
                for step in 0..<timeSteps {
                    (input + (step * count + b) * inputs).update(from: x.baseAddress! + index * stride + step * inputs, count: inputs)
                }
            }
        }
    }
}
