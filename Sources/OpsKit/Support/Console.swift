import Foundation

/// Where results and diagnostics go. Results are written to stdout, diagnostics to stderr; colour
/// is used only when the stream is a terminal and neither `--no-color` nor `NO_COLOR` says otherwise.
/// Output is handed in as closures so tests capture it exactly.
package struct Console: Sendable {
    package var stdoutIsTTY: Bool
    package var stderrIsTTY: Bool
    package var colourEnabled: Bool
    private let writeOut: @Sendable (String) -> Void
    private let writeErr: @Sendable (String) -> Void

    package init(
        stdoutIsTTY: Bool,
        stderrIsTTY: Bool,
        colourEnabled: Bool,
        writeOut: @escaping @Sendable (String) -> Void,
        writeErr: @escaping @Sendable (String) -> Void
    ) {
        self.stdoutIsTTY = stdoutIsTTY
        self.stderrIsTTY = stderrIsTTY
        self.colourEnabled = colourEnabled
        self.writeOut = writeOut
        self.writeErr = writeErr
    }

    /// Writes `text` to stdout as is (callers add newlines).
    package func write(_ text: String) { writeOut(text) }

    /// Writes one line of result to stdout.
    package func line(_ text: String = "") { writeOut(text + "\n") }

    /// Writes one line of diagnostics to stderr.
    package func diagnostic(_ text: String) { writeErr(text + "\n") }

    /// `Error: ...` plus an optional `hint: ...` line, on stderr.
    package func error(_ message: String, hint: String? = nil) {
        writeErr(paint("Error:", .red, tty: stderrIsTTY) + " " + message + "\n")
        if let hint { writeErr(paint("hint:", .yellow, tty: stderrIsTTY) + " " + hint + "\n") }
    }

    package func warning(_ message: String) {
        writeErr(paint("Warning:", .yellow, tty: stderrIsTTY) + " " + message + "\n")
    }

    package enum Colour: String, Sendable {
        case red = "31", green = "32", yellow = "33", blue = "34", bold = "1", dim = "2"
    }

    /// Wraps `text` in an ANSI colour when the target stream is a terminal and colour is enabled.
    package func paint(_ text: String, _ colour: Colour, tty: Bool? = nil) -> String {
        guard colourEnabled, tty ?? stdoutIsTTY else { return text }
        return "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m"
    }

    /// A progress reporter for long work: a rewritten status line on a terminal, periodic log lines
    /// elsewhere (CI logs must not fill with carriage returns).
    package func progress(_ title: String, clock: any TimeSource, logEvery seconds: Double = 10) -> Progress {
        Progress(title: title, console: self, clock: clock, logInterval: seconds)
    }
}

/// A progress line; see `Console.progress`.
package final class Progress: @unchecked Sendable {
    private let title: String
    private let console: Console
    private let clock: any TimeSource
    private let logInterval: Double
    private var lastLog: Date?
    private let lock = NSLock()

    init(title: String, console: Console, clock: any TimeSource, logInterval: Double) {
        self.title = title
        self.console = console
        self.clock = clock
        self.logInterval = logInterval
    }

    package func update(_ status: String) {
        lock.lock(); defer { lock.unlock() }
        if console.stderrIsTTY {
            console.diagnosticRaw("\r\u{1B}[2K\(title): \(status)")
            return
        }
        let now = clock.now()
        if let lastLog, now.timeIntervalSince(lastLog) < logInterval { return }
        lastLog = now
        console.diagnostic("\(title): \(status)")
    }

    package func finish(_ status: String) {
        lock.lock(); defer { lock.unlock() }
        if console.stderrIsTTY { console.diagnosticRaw("\r\u{1B}[2K") }
        console.diagnostic("\(title): \(status)")
    }
}

extension Console {
    fileprivate func diagnosticRaw(_ text: String) { writeErr(text) }
}
