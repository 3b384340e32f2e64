import ArgumentParser
import CommandLineSupport
import RNNRuntime
import RNNSupport

/// `rnn-infer`: classify images with an `.rnnm` model, inspect and verify model files, benchmark.
@main
struct RNNInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-infer",
        abstract: "Classify images with an .rnnm LSTM model; inspect, verify and benchmark model files.",
        discussion: """
        The model is --model FILE, else $RNN_MODEL, else models/mnist-lstm.rnnm.
        Data goes to standard output, diagnostics to standard error.

        Exit status: 0 ok; 1 internal error; 2 model file error; 3 input data error;
        4 labels error; 5 error writing output; 64 usage error.
        """,
        version: ToolMain.versionText(tool: "rnn-infer", version: RuntimeVersion.string),
        subcommands: [Classify.self, ClassifyText.self, Sequences.self, StreamCommand.self, Inspect.self, Verify.self, Bench.self, Convert.self],
        defaultSubcommand: Classify.self)

    /// Runs the command; a ``Failure`` becomes one line on standard error and its exit status, and
    /// so does a usage error (64).
    static func main() {
        // This tool splits batches across its own threads: OpenBLAS's pool stays at one thread.
        Model.setBLASThreads(1)
        ToolMain.run(Self.self, tool: "rnn-infer") { error in
            (error as? Failure).map { (Int32($0.status.rawValue), $0.message) }
        }
    }
}

/// Where the model comes from: `--model`, `$RNN_MODEL` or the default path.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The .rnnm model file (default: $RNN_MODEL, else models/mnist-lstm.rnnm).", valueName: "file"))
    var model: String?

    static let defaultPath = "models/mnist-lstm.rnnm"

    /// The chosen path and why it was chosen.
    func resolve() -> (path: String, origin: String) {
        if let model { return (model, "--model") }
        if let value = getenv("RNN_MODEL"), !String(cString: value).isEmpty {
            return (String(cString: value), "$RNN_MODEL")
        }
        return (Self.defaultPath, "default")
    }
}

/// `--kernel`: which implementation runs the LSTM steps (for comparisons; the default is the best).
enum KernelOption: String, ExpressibleByArgument, CaseIterable {
    case automatic, portable, avx512, avx2, neon

    var stepKernel: StepKernel {
        switch self {
        case .automatic: .automatic
        case .portable: .portable
        case .avx512: .fused(.avx512)
        case .avx2: .fused(.avx2)
        case .neon: .fused(.neon)
        }
    }

    static let help = ArgumentHelp(
        "Recurrent step kernel (LSTM and GRU): automatic (the best fused kernel for this CPU), portable (BLAS + Swift gates), avx512, avx2 (x86-64) or neon (ARM64).",
        valueName: "kind")

    /// Refuses a variant this CPU cannot run, as a usage error.
    func validate() throws {
        if case .fused(let variant) = stepKernel, !FusedKernel.supported.contains(variant) {
            throw ValidationError("--kernel \(rawValue) is not available on this CPU (available: automatic, portable"
                + FusedKernel.supported.filter { $0 != .none }.map { ", \($0.rawValue)" }.joined() + ")")
        }
    }

    /// What runs the LSTM steps, for logs and benchmark output ("fused-avx512", "portable").
    var description: String {
        let variant = self == .automatic ? FusedKernel.detected : (FusedKernel(rawValue: rawValue) ?? .none)
        return variant == .none ? "portable" : "fused-\(variant.rawValue)"
    }
}

/// `--threads`, `--block-size`, `--kernel`: how the runtime runs a batch (every command that classifies).
struct RunOptions: ParsableArguments {
    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("block-size"), help: ArgumentHelp("Inputs per GEMM block inside a batch.", visibility: .hidden))
    var blockSize: Int = 64

    @Option(help: KernelOption.help)
    var kernel: KernelOption = .automatic

    @Option(help: ArgumentHelp(
        "How recurrent layers stored as int8 run: automatic (integer products with activations quantized per step, "
            + "spec §6.6; the default) or float (dequantized to f32 at load, as before 1.4's int8 evaluation).",
        valueName: "mode"))
    var evaluation: RecurrentEvaluation = .automatic

    func validate() throws {
        try kernel.validate()
        let limit = ClassifyOptions.threadLimit
        guard limit.contains(threads ?? 1) else { throw ValidationError("--threads must be \(limit), found \(threads ?? 1)") }
        guard (1...4096).contains(blockSize) else { throw ValidationError("--block-size must be 1...4096, found \(blockSize)") }
    }

    /// The worker count: `--threads`, else one per core.
    var threadCount: Int { threads ?? defaultThreadCount() }

    /// The load options for `--evaluation`.
    var loadOptions: LoadOptions { LoadOptions(evaluation: evaluation) }

    /// The runtime's options for these choices.
    var classifyOptions: ClassifyOptions {
        ClassifyOptions(threads: threadCount, blockSize: blockSize, kernel: kernel.stepKernel)
    }
}

/// The number of cores, as the default thread count.
func defaultThreadCount() -> Int {
    max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 64))
}


extension RecurrentEvaluation: ExpressibleByArgument {}
