import RNNSupport
import RNNCore
import RNNFormat

/// The values `RNN_TRAIN_KERNEL` takes, and what each selects.
let trainingKernelNames: [(name: String, kernel: KernelISA)] = [
    ("portable", .none), ("avx2", .avx2), ("avx512", .avx512), ("neon", .neon),
]

/// The fused-kernel variant this run trains with: `RNN_TRAIN_KERNEL` when it is set (`portable`:
/// BLAS and the Swift gate pass only; `avx2`, `avx512`, `neon`: that variant, or the best this CPU
/// has when it lacks it, e.g. `avx512` on an AVX2 CPU or `avx2` on ARM64), else the best this CPU
/// has. The environment is read here, by the command, never by the library, which takes the
/// variant as an argument. Any other value is a usage error (64).
func trainingKernel() throws -> KernelISA {
    guard let raw = getenv("RNN_TRAIN_KERNEL"), raw.pointee != 0 else { return .detected }
    let value = String(cString: raw)
    guard let requested = trainingKernelNames.first(where: { $0.name == value })?.kernel else {
        throw fail("RNN_TRAIN_KERNEL must be one of \(trainingKernelNames.map(\.name).joined(separator: ", ")), "
            + "got \"\(TerminalText.escaped(value))\"", ExitStatus.usage)
    }
    // Not `min(requested, detected)`: the order only ranks variants of one architecture.
    return requested.isAvailable ? requested : KernelISA.detected
}

let trainingKernelHelp = """
    Environment: RNN_TRAIN_KERNEL=portable|avx2|avx512|neon chooses the training kernels: portable is \
    BLAS and the Swift gate pass only (what rnn-golden uses), avx2, avx512 and neon that fused variant \
    (the best this CPU has when it lacks it). Unset, training uses the best variant this CPU has. The \
    same seed, threads and kernel give bitwise identical weights.
    """
