import RNNSupport

/// Writes `text` to standard error, unbuffered, retrying interrupted and partial writes.
///
/// The tools print every diagnostic through this one function: stderr carries logs and errors,
/// stdout carries data only. A closed or full stderr is ignored (there is nowhere left to report it).
package func writeToStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}
