import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNSupport

/// `rnn-infer bench [IDX]`: load time, throughput at several batch sizes, batch-1 latency, stream
/// step latency, peak memory.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure model load time, throughput (batch 1, 128, whole input), batch-1 latency, stream step latency and peak memory.",
        discussion: """
            Image models read the IDX file, or --count random images of the model's size without one. \
            Feature models run --count random sequences of max_length steps. Text models classify the test \
            reviews of an aclImdb directory or .tar.gz given as the argument (tokenized before timing), or \
            --count random texts of max_length tokens without one. A model that can stream \
            (no bidirectional layer) is also stepped as one live stream, --stream-steps steps timed one by one.
            """)

    @Argument(help: ArgumentHelp("IDX3 images (raw or .gz); for a text model, an aclImdb directory or .tar.gz; default: random input.", valueName: "images"))
    var images: String?

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Random images (feature models: sequences; text models: texts) to generate when no input file is given.")
    var count: Int = 10_000

    /// `--threads` (for the batched runs; batch 1 always runs on one thread), `--block-size`, `--kernel`.
    @OptionGroup var runtime: RunOptions

    @Option(name: .customLong("single-images"), help: "Images classified one at a time for the batch-1 figures.")
    var singleImages: Int = 2000

    @Option(help: "Timed passes per batch size; the median is reported.")
    var repeats: Int = 5

    @Option(name: .customLong("stream-steps"), help: "Single stream steps timed one by one (after 1,000 untimed); 0 skips.")
    var streamSteps: Int = 20_000

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption,
            help: "Batch sizes for the throughput runs (0 = the whole input in one call).")
    var batchSizes: [Int] = [128, 0]

    @Flag(help: "Print one JSON object instead of the human summary (for bench/run-infer.sh).")
    var json = false

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1...10000000, found \(count)") }
        guard singleImages >= 1 else { throw ValidationError("--single-images must be at least 1") }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be 1...1000, found \(repeats)") }
        guard (0...10_000_000).contains(streamSteps) else { throw ValidationError("--stream-steps must be 0...10000000, found \(streamSteps)") }
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
                do { return try Model(contentsOf: path, options: runtime.loadOptions) } catch { throw Failure.model(error) }
            }
            loadTimes.append(seconds)
            loaded = model
        }
        guard let model = loaded else { return }
        let source = try loadInput(model)
        let threadCount = runtime.threadCount
        let blockSize = runtime.blockSize
        let kernel = runtime.kernel
        let loadMilliseconds = loadTimes.min()! * 1000

        // One method for every tool (RNNRuntime's Benchmark): batch-1 latency per call, the median
        // of `repeats` passes over the whole input at each batch size, then single stream steps.
        let n = source.count
        let single = min(singleImages, n)
        var latency = Benchmark.Latency(seconds: [])
        var throughput: [(requested: Int, batch: Int, imagesPerSecond: Double)] = []
        var stream: Benchmark.Latency?
        var streamNote: String?
        do {
            let options = runtime.classifyOptions
            try source.withInput { input throws(RuntimeError) in
                latency = try Benchmark.latency(model, input: input, count: single, options: options)
                for requested in batchSizes {
                    let row = try Benchmark.throughput(model, input: input, batchSize: requested == 0 ? n : requested, repeats: repeats, options: options)
                    throughput.append((requested, row.batchSize, row.imagesPerSecond))
                }
                guard streamSteps > 0 else { streamNote = "not measured (--stream-steps 0)"; return }
                do throws(RuntimeError) {
                    stream = try Benchmark.streamStepLatency(model, input: input, steps: streamSteps, options: options)
                } catch {
                    guard case .notStreamable(let reason) = error else { throw error }
                    streamNote = "not measured: the model cannot stream (\(reason))"
                }
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
        let streamMicroseconds = stream.map { (p50: $0.percentile(0.5) * 1e6, p99: $0.percentile(0.99) * 1e6) }
        if json {
            let rows = throughput.map { "{\"batch\":\($0.batch),\"images_per_s\":\(fixed($0.imagesPerSecond, 1))}" }
            let streamFields = streamMicroseconds.map {
                "\"stream_steps\":\(streamSteps),\"stream_step_p50_us\":\(fixed($0.p50, 3)),\"stream_step_p99_us\":\(fixed($0.p99, 3))"
            } ?? "\"stream_steps\":0,\"stream_step_p50_us\":null,\"stream_step_p99_us\":null,\"stream_note\":\(JSONText.quoted(streamNote ?? ""))"
            let flops = source.flopsPerItem(model).map(String.init) ?? "null"
            try output.write("{\"images\":\(n),\"unit\":\"\(source.unit)\",\"kernel\":\"\(kernel.description)\",\"flops_per_image\":\(flops),\"threads\":\(threadCount),\"block_size\":\(blockSize),\"repeats\":\(repeats),"
                + "\"load_ms\":\(fixed(loadMilliseconds, 3)),\"batch1_images_per_s\":\(fixed(singleRate, 1)),"
                + "\"latency_us\":{\"p50\":\(fixed(percentile(0.5) * 1e6, 1)),\"p90\":\(fixed(percentile(0.9) * 1e6, 1)),\"p99\":\(fixed(percentile(0.99) * 1e6, 1))},"
                + "\"throughput\":[\(rows.joined(separator: ","))],\(streamFields),\"peak_mib\":\(fixed(peakMiB, 1))}\n")
        } else {
            try output.write("model            \(path)\n")
            let unit = source.unit
            switch source {
            case .pixels: try output.write("images           \(n) (\(images ?? "random")), \(model.input.height)x\(model.input.width)\n")
            case .features: try output.write("sequences        \(n) (random), \(model.input.timeSteps) steps of \(model.input.width) features\n")
            case .texts(let ids):
                let tokens = ids.reduce(0) { $0 + min($1.count, model.encoder?.input.maxLength ?? $1.count) }
                try output.write("texts            \(n) (\(images ?? "random")), \(fixed(Double(tokens) / Double(max(n, 1)), 1)) tokens each on average\n")
            }
            try output.write("kernel           \(kernel.description)\n")
            try output.write("model load       \(fixed(loadMilliseconds, 2)) ms (best of 5)\n")
            try output.write("batch 1          \(fixed(singleRate, 0)) \(unit)/s (1 thread, 1 / median latency of \(single) calls)\n")
            try output.write("latency batch 1  p50 \(fixed(percentile(0.5) * 1e6, 1)) us, p90 \(fixed(percentile(0.9) * 1e6, 1)) us, p99 \(fixed(percentile(0.99) * 1e6, 1)) us\n")
            for row in throughput {
                let name = row.requested == 0 ? "batch \(n) (all)" : "batch \(row.requested)"
                let rate = source.flopsPerItem(model).map { ", \(fixed(row.imagesPerSecond * Double($0) / 1e9, 1)) GFLOP/s" } ?? ""
                try output.write(pad(name, 17) + "\(fixed(row.imagesPerSecond, 0)) \(unit)/s\(rate) (\(threadCount) thread\(threadCount == 1 ? "" : "s"), block \(blockSize), median of \(repeats))\n")
            }
            if let us = streamMicroseconds {
                try output.write("stream step      p50 \(fixed(us.p50, 2)) us, p99 \(fixed(us.p99, 2)) us (1 stream, \(streamSteps) steps after 1000 untimed)\n")
            } else {
                try output.write("stream step      \(streamNote ?? "not measured")\n")
            }
            try output.write("peak memory      \(fixed(peakMiB, 1)) MiB (ru_maxrss)\n")
        }
        try output.finish()
    }

    /// What the benchmark runs: images (of the IDX file, or random) or random feature sequences.
    private enum Source {
        case pixels([UInt8], count: Int)
        case features([Float], count: Int)
        case texts([[Int32]])

        var count: Int {
            switch self {
            case .pixels(_, let count), .features(_, let count): count
            case .texts(let ids): ids.count
            }
        }

        /// FLOPs of one item, nil for texts: a text runs as many steps as it has tokens, not max_length.
        func flopsPerItem(_ model: Model) -> Int? {
            if case .texts = self { return nil }
            return 2 * model.multiplyAddsPerImage
        }

        /// What one item is, in the summary's rates.
        var unit: String {
            switch self {
            case .pixels: "images"
            case .features: "sequences"
            case .texts: "texts"
            }
        }

        func withInput(_ body: (Benchmark.Input) throws(RuntimeError) -> Void) throws(RuntimeError) {
            switch self {
            case .pixels(let pixels, _): try pixels.withUnsafeBufferPointer { p throws(RuntimeError) in try body(.pixels(p)) }
            case .features(let values, _): try values.withUnsafeBufferPointer { f throws(RuntimeError) in try body(.features(f)) }
            case .texts(let ids): try ids.withUnsafeBufferPointer { t throws(RuntimeError) in try body(.tokens(t)) }
            }
        }
    }

    /// The input for `model`: images for an image model, full-length random sequences for a feature
    /// model, the test reviews of an aclImdb path (or random full-length texts) for a text model.
    private func loadInput(_ model: Model) throws(Failure) -> Source {
        switch model.inputKind {
        case .imageRows, .image:
            let pixels = try loadPixels(model)
            return .pixels(pixels, count: pixels.count / model.pixelsPerImage)
        case .features:
            if let images { throw Failure(status: .input, message: "\(displayName(images)): bench runs a feature model on random sequences; give no input file") }
            let per = model.input.timeSteps * model.input.width
            guard count <= (1 << 28) / per else {
                throw Failure(status: .input, message: "\(count) random sequences of \(model.input.timeSteps) x \(model.input.width) values exceed 1 GiB; use a smaller --count")
            }
            // Deterministic finite values in [-2, 2).
            var state: UInt64 = 0x2545_F491_4F6C_DD1D
            let values = (0..<(count * per)).map { _ -> Float in
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return Float(state >> 40) / Float(1 << 24) * 4 - 2
            }
            return .features(values, count: count)
        case .tokens:
            guard let encoder = model.encoder else { throw Failure.model(RuntimeError.inputKindMismatch(model: model.inputKind, given: .tokens)) }
            if let images {
                let splits: TextDatasetSplits
                do { splits = try IMDb.load(from: images) } catch { throw Failure.input(error) }
                guard !splits.test.isEmpty else { throw Failure(status: .input, message: "\(displayName(images)) holds no test reviews") }
                return .texts(splits.test.map { encoder.tokenIDs($0.text) })
            }
            // Deterministic ids of in-vocabulary words (2 ..< rows), max_length of them per text.
            let rows = UInt64(encoder.input.vocabulary.count + 2), length = encoder.input.maxLength
            guard count <= (1 << 28) / max(length, 1) else {
                throw Failure(status: .input, message: "\(count) random texts of \(length) tokens exceed 1 GiB; use a smaller --count")
            }
            var state: UInt64 = 0x2545_F491_4F6C_DD1D
            let ids = (0..<count).map { _ in
                (0..<length).map { _ -> Int32 in
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    return Int32(UInt64(TokenInput.firstWordID) + (state >> 11) % max(rows - 2, 1))
                }
            }
            return .texts(ids)
        }
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
