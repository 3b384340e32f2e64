import RNNSupport
import RNNTraining
import CommandLineSupport
import Dispatch
import Synchronization

/// Writes a line (or a progress-bar redraw, without newline) to stderr, unbuffered.
func printError(_ text: String, newline: Bool = true) {
    writeToStandardError(newline ? text + "\n" : text)
}

/// Whether stderr is a terminal (progress bar) or a file/pipe (plain periodic lines).
var stderrIsTerminal: Bool { isatty(2) == 1 }

/// Set by the first SIGINT: training finishes its current step, checkpoints and exits with 130.
let interruptRequested = Atomic<Bool>(false)

/// Routes SIGINT to ``interruptRequested`` (a second Ctrl-C exits at once, with status 130).
final class InterruptHandler {
    private let source: any DispatchSourceSignal

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if interruptRequested.exchange(true, ordering: .sequentiallyConsistent) {
                printError("\nrnn-train: interrupted again; exiting without a checkpoint")
                exit(130)
            }
            printError("\nrnn-train: interrupt: finishing the current step, then writing a checkpoint (Ctrl-C again to abort)")
        }
        source.resume()
    }
}

/// `gru bidirectional H=64 layers=2 pool=max`: the network in the run's first line.
func describe(_ a: LSTMArchitecture) -> String {
    "\(a.cell.rawValue)\(a.bidirectional ? " bidirectional" : "") H=\(a.hiddenSize) layers=\(a.layerCount)"
        + (a.pooling == .last ? "" : " pool=\(a.pooling.rawValue)")
}
