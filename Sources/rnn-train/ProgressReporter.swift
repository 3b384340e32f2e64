import RNNSupport
import RNNTraining

/// Shows training progress: a live bar redrawn in place on a terminal, plain lines every
/// `lineInterval` seconds otherwise (logs stay readable).
final class ProgressReporter {
    let live = stderrIsTerminal
    /// What the speed counts: "img" or "reviews".
    let unit: String
    let lineInterval = 10.0
    private var lastDraw = -1.0
    private let started = monotonicSeconds()

    init(unit: String) { self.unit = unit }

    func step(_ p: StepProgress) {
        let t = monotonicSeconds()
        let last = p.stepInEpoch == p.stepsInEpoch || p.globalStep == p.totalSteps
        if live {
            guard t - lastDraw >= 0.1 || last else { return }
            lastDraw = t
            let width = 24
            let filled = min(width, p.stepInEpoch * width / max(1, p.stepsInEpoch))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            printError("\r\u{1B}[2Kepoch \(p.epoch + 1)/\(p.epochs) [\(bar)] \(p.stepInEpoch)/\(p.stepsInEpoch) "
                + "loss \(fixed(p.loss, 4)) acc \(percent(p.accuracy)) \(Int(p.examplesPerSecond)) \(unit)/s "
                + "lr \(scientific(p.learningRate)) ETA \(duration(p.secondsRemaining))", newline: false)
        } else {
            guard lastDraw < 0 || t - lastDraw >= lineInterval || last else { return }
            lastDraw = t
            printError("epoch \(p.epoch + 1)/\(p.epochs) step \(p.stepInEpoch)/\(p.stepsInEpoch) "
                + "(\(p.globalStep)/\(p.totalSteps)) loss \(fixed(p.loss, 4)) acc \(percent(p.accuracy)) "
                + "\(Int(p.examplesPerSecond)) \(unit)/s ETA \(duration(p.secondsRemaining))")
        }
    }

    func epoch(_ r: EpochRecord, of epochs: Int) {
        if live { printError("\r\u{1B}[2K", newline: false) }
        printError("epoch \(r.epoch)/\(epochs): train loss \(fixed(r.trainLoss, 4)) acc \(percent(r.trainAccuracy)) | "
            + "val loss \(fixed(r.validationLoss, 4)) acc \(percent(r.validationAccuracy)) | "
            + "\(fixed(r.seconds, 1)) s | lr \(scientific(Float(r.learningRate)))")
        lastDraw = -1
    }

    /// Clears a half-drawn bar before another message.
    func clearLine() { if live { printError("\r\u{1B}[2K", newline: false) } }

    var elapsed: Double { monotonicSeconds() - started }
}

func scientific(_ v: Float) -> String {
    guard v > 0 else { return "0" }
    var exponent = 0, m = Double(v)
    while m < 1 { m *= 10; exponent -= 1 }
    while m >= 10 { m /= 10; exponent += 1 }
    // 9.999 rounds to 10.00: write 1.00 and the next exponent, not "10.00e-5".
    if (m * 100).rounded() >= 1000 { m /= 10; exponent += 1 }
    return "\(fixed(m, 2))e\(exponent)"
}

func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 60 ? "\(s / 60)m\(s % 60 < 10 ? "0" : "")\(s % 60)s" : "\(s)s"
}
