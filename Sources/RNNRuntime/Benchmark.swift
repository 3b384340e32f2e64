import RNNSupport

/// The one benchmark method of the project's tools (`rnn-infer bench`, `rnn-report`), so that every
/// table and figure that reports images/s measures the same thing.
///
/// - **Batch 1 (latency):** `count` calls of one image (or sequence) each on one thread, each timed
///   alone, after one warm-up call; reported as percentiles of the per-call times and as `1 / p50`
///   images/s.
/// - **Throughput at batch `B`:** one untimed warm-up pass, then `repeats` timed passes over the whole
///   input in consecutive calls of `B` images (the last call may be smaller); the median pass gives
///   `images / seconds`. Workspaces are made per call, as an application calling `classify` gets them.
/// - **Stream step latency:** one ``Stream`` of one stream (batch 1) stepped `warmUp` times untimed,
///   then `steps` times, each ``Stream/step(_:)`` (or ``Stream/step(pixels:)``) call timed alone:
///   what a live application pays per time step, the output array included. The step inputs are the
///   rows of the benchmark's input in turn (copied into arrays before the clock starts).
///
/// The clock is RNNSupport's monotonic clock (``measured(_:)``).
package enum Benchmark {
    /// What a benchmark runs: images of an image-row model, full-length sequences of a feature model,
    /// or the token ids of a text model's texts.
    package enum Input {
        /// Image-row models: `u8` pixels, `count x height x width`.
        case pixels(UnsafeBufferPointer<UInt8>)
        /// Feature models: sequences of the model's `max_length` steps of `width` source values each,
        /// `count x max_length x width`, step-major.
        case features(UnsafeBufferPointer<Float>)
        /// Text models: one token-id sequence per text (tokenized before the clock starts, so only
        /// classification is timed), each call classifying ``Model/classify(tokenSequences:options:)``'s way.
        case tokens(UnsafeBufferPointer<[Int32]>)

        /// Source values of one image or sequence (texts: 1, one sequence each).
        func valuesPerItem(_ model: Model) -> Int {
            switch self {
            case .pixels: model.pixelsPerImage
            case .features: model.input.timeSteps * model.input.width
            case .tokens: 1
            }
        }

        /// Whole images, sequences or texts in the input.
        func count(_ model: Model) -> Int {
            let per = valuesPerItem(model)
            guard per > 0 else { return 0 }
            switch self {
            case .pixels(let p): return p.count / per
            case .features(let f): return f.count / per
            case .tokens(let t): return t.count
            }
        }

        /// Classifies items `range` in one call.
        func classify(_ model: Model, _ range: Range<Int>, options: ClassifyOptions) throws(RuntimeError) {
            let per = valuesPerItem(model)
            let values = (range.lowerBound * per)..<(range.upperBound * per)
            switch self {
            case .pixels(let p):
                _ = try model.classify(pixels: UnsafeBufferPointer(rebasing: p[values]), options: options)
            case .features(let f):
                let steps = model.input.timeSteps
                _ = try model.classify(paddedSequences: UnsafeBufferPointer(rebasing: f[values]), steps: steps,
                                       lengths: [Int](repeating: steps, count: range.count), options: options)
            case .tokens(let t):
                _ = try model.classify(tokenSequences: Array(t[range]), options: options)
            }
        }
    }

    /// Per-call times, sorted: single-image calls, or single stream steps.
    package struct Latency: Sendable {
        package var seconds: [Double]

        package init(seconds: [Double]) { self.seconds = seconds }

        /// The `p`-quantile (nearest rank), e.g. 0.5 for the median.
        package func percentile(_ p: Double) -> Double {
            seconds.isEmpty ? 0 : seconds[min(seconds.count - 1, Int(Double(seconds.count) * p))]
        }

        /// `1 / p50`: the batch-1 rate a caller sees.
        package var imagesPerSecond: Double {
            let median = percentile(0.5)
            return median > 0 ? 1 / median : 0
        }
    }

    /// Images per second at one batch size and thread count.
    package struct Throughput: Sendable {
        package var batchSize: Int
        package var threads: Int
        package var images: Int
        package var repeats: Int
        /// The median pass's time.
        package var medianSeconds: Double

        package var imagesPerSecond: Double { medianSeconds > 0 ? Double(images) / medianSeconds : 0 }
    }

    /// Batch-1 latency over the first `count` images of `pixels` (fewer if the input has fewer).
    package static func latency(_ model: Model, pixels: UnsafeBufferPointer<UInt8>, count: Int,
                                options: ClassifyOptions) throws(RuntimeError) -> Latency {
        try latency(model, input: .pixels(pixels), count: count, options: options)
    }

    /// Throughput of `options` over all images of `pixels` in calls of `batchSize` images.
    package static func throughput(_ model: Model, pixels: UnsafeBufferPointer<UInt8>, batchSize: Int, repeats: Int,
                                   options: ClassifyOptions) throws(RuntimeError) -> Throughput {
        try throughput(model, input: .pixels(pixels), batchSize: batchSize, repeats: repeats, options: options)
    }

    /// Batch-1 latency over the first `count` images or sequences of `input` (fewer if it has fewer).
    package static func latency(_ model: Model, input: Input, count: Int,
                                options: ClassifyOptions) throws(RuntimeError) -> Latency {
        let n = min(count, input.count(model))
        guard n > 0 else { return Latency(seconds: []) }
        var single = options
        single.threads = 1
        try input.classify(model, 0..<1, options: single)
        var times: [Double] = []
        times.reserveCapacity(n)
        for i in 0..<n {
            times.append(try measured { () throws(RuntimeError) in try input.classify(model, i..<(i + 1), options: single) }.seconds)
        }
        return Latency(seconds: times.sorted())
    }

    /// Throughput of `options` over all images or sequences of `input` in calls of `batchSize`.
    package static func throughput(_ model: Model, input: Input, batchSize: Int, repeats: Int,
                                   options: ClassifyOptions) throws(RuntimeError) -> Throughput {
        let n = input.count(model)
        let batch = max(1, min(batchSize, n))
        func pass() throws(RuntimeError) {
            var start = 0
            while start < n {
                let end = min(n, start + batch)
                try input.classify(model, start..<end, options: options)
                start = end
            }
        }
        try pass()
        var times: [Double] = []
        for _ in 0..<max(1, repeats) { times.append(try measured(pass).seconds) }
        times.sort()
        return Throughput(batchSize: batch, threads: options.threads, images: n, repeats: max(1, repeats),
                          medianSeconds: times[times.count / 2])
    }

    /// Latency of one step of one live stream (``Model/makeStream(count:options:)`` with one stream):
    /// `warmUp` untimed steps, then `steps` steps timed one by one, fed the rows of `input` in turn
    /// (at most 4,096 distinct rows, cycled). `options` chooses the kernel; a stream step runs on one thread.
    ///
    /// - Throws: ``RuntimeError/notStreamable(_:)`` for a model that cannot stream (bidirectional,
    ///   text or pooled); ``RuntimeError/inputKindMismatch(model:given:)`` when `input` is not the model's kind.
    package static func streamStepLatency(_ model: Model, input: Input, steps: Int, warmUp: Int = 1000,
                                          options: ClassifyOptions) throws(RuntimeError) -> Latency {
        var single = options
        single.threads = 1
        let stream = try model.makeStream(count: 1, options: single)
        switch input {
        case .pixels(let p): return try stepTimes(rows(p, width: stream.width), steps: steps, warmUp: warmUp) { row throws(RuntimeError) in try stream.step(pixels: row) }
        case .features(let f): return try stepTimes(rows(f, width: stream.width), steps: steps, warmUp: warmUp) { row throws(RuntimeError) in try stream.step(row) }
        case .tokens: throw .inputKindMismatch(model: model.inputKind, given: .tokens)  // makeStream refuses text models first
        }
    }

    /// The first rows (at most 4,096) of `values`, `width` values each, as the arrays a step takes.
    private static func rows<Element>(_ values: UnsafeBufferPointer<Element>, width: Int) -> [[Element]] {
        let count = width > 0 ? min(4096, values.count / width) : 0
        return (0..<count).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
    }

    private static func stepTimes<Element>(_ rows: [[Element]], steps: Int, warmUp: Int,
                                           step: ([Element]) throws(RuntimeError) -> [Float]) throws(RuntimeError) -> Latency {
        guard !rows.isEmpty, steps > 0 else { return Latency(seconds: []) }
        for i in 0..<max(0, warmUp) { _ = try step(rows[i % rows.count]) }
        var times = [Double](repeating: 0, count: steps)
        for i in 0..<steps {
            let row = rows[i % rows.count]
            times[i] = try measured { () throws(RuntimeError) in try step(row) }.seconds
        }
        return Latency(seconds: times.sorted())
    }
}
