import ArgumentParser
import RNNDatasets
import RNNRuntime
import RNNSupport

/// `rnn-infer bench [IDX]`: load time, throughput at several batch sizes, batch-1 latency, peak memory.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure model load time, throughput (batch 1, 128, whole input), batch-1 latency and peak memory.",
        discussion: "Without an IDX file, classifies --count random images of the model's size.")

    @Argument(help: ArgumentHelp("IDX3 images (raw or .gz); default: random images.", valueName: "images"))
    var images: String?

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Random images to generate when no IDX file is given.")
    var count: Int = 10_000

    /// `--threads` (for the batched runs; batch 1 always runs on one thread), `--block-size`, `--kernel`.
    @OptionGroup var runtime: RunOptions

    @Option(name: .customLong("single-images"), help: "Images classified one at a time for the batch-1 figures.")
    var singleImages: Int = 2000

    @Option(help: "Timed passes per batch size; the median is reported.")
    var repeats: Int = 5

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption,
            help: "Batch sizes for the throughput runs (0 = the whole input in one call).")
    var batchSizes: [Int] = [128, 0]

    @Flag(help: "Print one JSON object instead of the human summary (for bench/run-infer.sh).")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1...10000000, found \(count)") }
        guard singleImages >= 1 else { throw ValidationError("--single-images must be at least 1") }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be 1...1000, found \(repeats)") }
        guard !batchSizes.isEmpty, batchSizes.allSatisfy({ $0 >= 0 }) else {
            throw ValidationError("--batch-sizes takes non-negative sizes (0 = whole input)")
        }
    }

    func run() throws {
        let (path, _) = modelOption.resolve()
        // Load time: the best of five loads (the first also warms the file cache).
        var loadTimes: [Double] = []
        var loaded: Model?
        for _ in 0..<5 {
            let (model, seconds) = try measured { () throws(Failure) -> Model in
                do { return try Model(contentsOf: path) } catch { throw Failure.model(error) }
            }
            loadTimes.append(seconds)
            loaded = model
        }
        guard let model = loaded else { return }
        let pixels = try loadPixels(model)
        let n = pixels.count / model.pixelsPerImage
        let threadCount = runtime.threadCount
        let blockSize = runtime.blockSize
        let kernel = runtime.kernel
        let loadMilliseconds = loadTimes.min()! * 1000

        // One method for every tool (RNNRuntime's Benchmark): batch-1 latency per call, then the
        // median of `repeats` passes over the whole input at each batch size.
        let single = min(singleImages, n)
        let latency: Benchmark.Latency
        var throughput: [(requested: Int, batch: Int, imagesPerSecond: Double)] = []
        do {
            let options = runtime.classifyOptions
            latency = try pixels.withUnsafeBufferPointer { all throws(RuntimeError) in
                try Benchmark.latency(model, pixels: all, count: single, options: options)
            }
            for requested in batchSizes {
                let row = try pixels.withUnsafeBufferPointer { all throws(RuntimeError) in
                    try Benchmark.throughput(model, pixels: all, batchSize: requested == 0 ? n : requested, repeats: repeats, options: options)
                }
                throughput.append((requested, row.batchSize, row.imagesPerSecond))
            }
        } catch {
            throw Failure.model(error)
        }
        func percentile(_ p: Double) -> Double { latency.percentile(p) }
        let singleRate = latency.imagesPerSecond
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let peakMiB = Double(usage.ru_maxrss) / 1024  // Linux reports ru_maxrss in KiB.

        let output = OutputStream.standardOutput()
        if json {
            let rows = throughput.map { "{\"batch\":\($0.batch),\"images_per_s\":\(fixed($0.imagesPerSecond, 1))}" }
            try output.write("{\"images\":\(n),\"kernel\":\"\(kernel.description)\",\"flops_per_image\":\(2 * model.multiplyAddsPerImage),\"threads\":\(threadCount),\"block_size\":\(blockSize),\"repeats\":\(repeats),"
                + "\"load_ms\":\(fixed(loadMilliseconds, 3)),\"batch1_images_per_s\":\(fixed(singleRate, 1)),"
                + "\"latency_us\":{\"p50\":\(fixed(percentile(0.5) * 1e6, 1)),\"p90\":\(fixed(percentile(0.9) * 1e6, 1)),\"p99\":\(fixed(percentile(0.99) * 1e6, 1))},"
                + "\"throughput\":[\(rows.joined(separator: ","))],\"peak_mib\":\(fixed(peakMiB, 1))}\n")
        } else {
            try output.write("model            \(path)\n")
            try output.write("images           \(n) (\(images ?? "random")), \(model.input.height)x\(model.input.width)\n")
            try output.write("kernel           \(kernel.description)\n")
            try output.write("model load       \(fixed(loadMilliseconds, 2)) ms (best of 5)\n")
            try output.write("batch 1          \(fixed(singleRate, 0)) images/s (1 thread, 1 / median latency of \(single) calls)\n")
            try output.write("latency batch 1  p50 \(fixed(percentile(0.5) * 1e6, 1)) us, p90 \(fixed(percentile(0.9) * 1e6, 1)) us, p99 \(fixed(percentile(0.99) * 1e6, 1)) us\n")
            for row in throughput {
                let name = row.requested == 0 ? "batch \(n) (all)" : "batch \(row.requested)"
                let gflops = row.imagesPerSecond * Double(2 * model.multiplyAddsPerImage) / 1e9
                try output.write(pad(name, 17) + "\(fixed(row.imagesPerSecond, 0)) images/s, \(fixed(gflops, 1)) GFLOP/s (\(threadCount) thread\(threadCount == 1 ? "" : "s"), block \(blockSize), median of \(repeats))\n")
            }
            try output.write("peak memory      \(fixed(peakMiB, 1)) MiB (ru_maxrss)\n")
        }
        try output.finish()
    }

    /// The images to classify: the IDX file, or deterministic pseudo-random pixels.
    private func loadPixels(_ model: Model) throws(Failure) -> [UInt8] {
        if let images {
            let set: ImageSet
            do { set = try IDX.readImages(at: images) } catch { throw Failure.input(error) }
            do { try model.checkImageSize(height: set.height, width: set.width) } catch {
                throw Failure(status: .input, message: "\(displayName(images)): \(error)")
            }
            guard set.count > 0 else { throw Failure(status: .input, message: "\(displayName(images)) holds no images") }
            return set.pixels
        }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<(count * model.pixelsPerImage)).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 32)
        }
    }
}
