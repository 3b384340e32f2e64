import RNNSupport

/// The OpenBLAS kernel family the golden fixtures are generated with (and the trainer's BLAS path).
///
/// OpenBLAS picks its GEMM kernels by CPU at load time, and kernels for different CPUs sum in
/// different orders, so a training run on another CPU would give weights that differ in the last
/// bits (and, after 200 steps, everywhere). Forcing one family (`OPENBLAS_CORETYPE`, honoured by
/// DYNAMIC_ARCH builds such as Debian's) makes the fixtures a function of the code alone on every
/// x86-64 CPU with AVX2 and FMA.
let pinnedCoreType = "Haswell"

/// Re-executes this program with `OPENBLAS_CORETYPE` pinned (and OpenBLAS on one thread) unless it
/// already is. The variable must be set before OpenBLAS is loaded, which happens before `main`,
/// hence the `exec`. Returns normally only when nothing needs to change (or on other platforms).
func pinBLASKernel() {
    #if os(Linux) && arch(x86_64)
    let current = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
    guard current != pinnedCoreType else { return }
    setenv("OPENBLAS_CORETYPE", pinnedCoreType, 1)
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // exec failed: carry on unpinned, and say so, since the output may then differ by CPU.
    printError("rnn-golden: warning: could not re-execute with OPENBLAS_CORETYPE=\(pinnedCoreType) (\(String(cString: strerror(errno))))")
    #endif
}

/// Writes one line to standard error (unbuffered, so it interleaves correctly with progress).
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { raw in _ = write(2, raw.baseAddress, raw.count) }
}
