import RNNSupport

/// The one benchmark method of the project's tools (`rnn-infer bench`, `rnn-report`), so that every
/// table and figure that reports images/s measures the same thing.
///
/// - **Batch 1 (latency):** `count` calls of one image each on one thread, each timed alone, after
///   one warm-up call; reported as percentiles of the per-call times and as `1 / p50` images/s.
/// - **Throughput at batch `B`:** one untimed warm-up pass, then `repeats` timed passes over the whole
///   input in consecutive calls of `B` images (the last call may be smaller); the median pass gives
///   `images / seconds`. Workspaces are made per call, as an application calling `classify` gets them.
///
/// The clock is RNNSupport's monotonic clock (``measured(_:)``).
package enum Benchmark {
    /// Per-call times of single-image calls, sorted.
    package struct Latency: Sendable {
        package var seconds: [Double]

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
        let per = model.pixelsPerImage
        let available = per > 0 ? pixels.count / per : 0
        let n = min(count, available)
        guard n > 0 else { return Latency(seconds: []) }
        var single = options
        single.threads = 1
        _ = try model.classify(pixels: UnsafeBufferPointer(rebasing: pixels[0..<per]), options: single)
        var times: [Double] = []
        times.reserveCapacity(n)
        for i in 0..<n {
            let image = UnsafeBufferPointer(rebasing: pixels[(i * per)..<((i + 1) * per)])
            times.append(try measured { () throws(RuntimeError) in _ = try model.classify(pixels: image, options: single) }.seconds)
        }
        return Latency(seconds: times.sorted())
    }

    /// Throughput of `options` over all images of `pixels` in calls of `batchSize` images.
    package static func throughput(_ model: Model, pixels: UnsafeBufferPointer<UInt8>, batchSize: Int, repeats: Int,
                                   options: ClassifyOptions) throws(RuntimeError) -> Throughput {
        let per = model.pixelsPerImage
        let n = per > 0 ? pixels.count / per : 0
        let batch = max(1, min(batchSize, n))
        func pass() throws(RuntimeError) {
            var start = 0
            while start < n {
                let end = min(n, start + batch)
                _ = try model.classify(pixels: UnsafeBufferPointer(rebasing: pixels[(start * per)..<(end * per)]), options: options)
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
}
