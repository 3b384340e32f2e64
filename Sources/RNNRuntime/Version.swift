/// The runtime library's version (semantic versioning), printed by `rnn-infer --version`.
///
/// The C API reports the same string through `rnn_runtime_version()` from the header's
/// `RNN_RUNTIME_VERSION_STRING`; `RNNRuntimeCTests` checks that the two agree.
public enum RuntimeVersion {
    /// `major.minor.patch`.
    public static let string = "1.2.0"
}
