import ArgumentParser
import RNNFormat
import RNNSupport

/// The entry point every tool shares, so that all of them keep the README's error contract:
/// every failure is **one line** on standard error, `TOOL: error: MESSAGE`, and a documented exit
/// status. swift-argument-parser's default prints an `Error:` line plus a usage block; here a usage
/// error becomes one line that points at `--help` (exit 64, `EX_USAGE`), while `--help` and
/// `--version` still print in full and exit 0.
package enum ToolMain {
    /// A tool's own failure: the exit status and the message (empty: already reported).
    package typealias Failure = (status: Int32, message: String)

    /// Parses the arguments as `command`'s root, runs the chosen (sub)command and exits.
    ///
    /// - Parameters:
    ///   - command: the root command type.
    ///   - tool: the tool's name, the prefix of every error line (`rnn-infer`).
    ///   - failure: maps the tool's own error types to an exit status and message; `nil` for any
    ///     other error, which is then a usage error if swift-argument-parser says so, else internal.
    package static func run(_ command: any ParsableCommand.Type, tool: String,
                            failure: (any Error) -> Failure? = { _ in nil }) -> Never {
        do {
            var parsed = try command.parseAsRoot()
            try parsed.run()
            exit(0)
        } catch {
            if let (status, message) = failure(error) {
                // Escaped: a message may quote a file's strings, and it must stay one harmless line.
                if !message.isEmpty { writeToStandardError("\(tool): error: \(TerminalText.escaped(message))\n") }
                exit(status)
            }
            let code = command.exitCode(for: error)
            if code == .success || error is ExitCode {
                command.exit(withError: error)  // --help, --version, or a status chosen by the command
            }
            writeToStandardError("\(tool): error: \(oneLine(command.message(for: error), tool: tool))\n")
            exit(code.rawValue)
        }
    }

    /// The first line of swift-argument-parser's message, plus where to read more.
    ///
    /// Its messages for a missing value or an unknown option put help text on further lines
    /// ("Help: ..."); the first line is the one that says what is wrong.
    static func oneLine(_ message: String, tool: String) -> String {
        let first = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
        let text = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
        return text + " (see '\(tool) --help')"
    }

    /// What `--version` prints: the tool's version and the format versions it reads and writes.
    package static func versionText(tool: String, version: String) -> String {
        let (major, minor) = RNNFormatVersion.current
        return "\(tool) \(version) (.rnnm format: reads \(major).0 through \(major).\(minor), "
            + "and newer \(major).x files that allow a \(major).\(minor) reader; writes \(major).0 through \(major).\(minor), "
            + "the lowest version that describes the model)"
    }
}
