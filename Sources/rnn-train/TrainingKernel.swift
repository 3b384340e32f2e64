import RNNSupport
import RNNCore
import RNNFormat

/// The values `RNN_TRAIN_KERNEL` takes, and what each selects.
let trainingKernelNames: [(name: String, kernel: KernelISA)] = [("portable", .none), ("avx2", .avx2), ("avx512", .avx512)]

/// The fused-kernel variant this run trains with: `RNN_TRAIN_KERNEL` when it is set (`portable`:
/// BLAS and the Swift gate pass only; `avx2`, `avx512`: that variant, or the best this CPU has when
/// it lacks it), else the best this CPU has. The environment is read here, by the command, never
/// by the library, which takes the variant as an argument. Any other value is a usage error (64).
func trainingKernel() throws -> KernelISA {
    guard let raw = getenv("RNN_TRAIN_KERNEL"), raw.pointee != 0 else { return .detected }
    let value = String(cString: raw)
    guard let requested = trainingKernelNames.first(where: { $0.name == value })?.kernel else {
        throw fail("RNN_TRAIN_KERNEL must be one of \(trainingKernelNames.map(\.name).joined(separator: ", ")), "
            + "got \"\(TerminalText.escaped(value))\"", ExitStatus.usage)
    }
    return min(requested, KernelISA.detected)
}

let trainingKernelHelp = """
    Environment: RNN_TRAIN_KERNEL=portable|avx2|avx512 chooses the training kernels: portable is BLAS \
    and the Swift gate pass only (what rnn-golden uses), avx2 and avx512 that fused variant (the best \
    this CPU has when it lacks it). Unset, training uses the best variant this CPU has. The same seed, \
    threads and kernel give bitwise identical weights.
    """
