import Foundation

/// One subprocess to run: argv without a shell, environment overrides, bytes for stdin.
package struct ProcessRequest: Sendable, Equatable {
    /// A program name looked up on PATH, or a path.
    package var executable: String
    package var arguments: [String]
    /// Added to (or replacing) the inherited environment; a nil value removes the variable.
    package var environment: [String: String?]
    package var stdin: Data?
    /// Wall-clock limit; on expiry the child's process group gets SIGTERM, then SIGKILL.
    package var timeout: Double?
    /// Most bytes kept of each of stdout and stderr; more is an error, not a silent truncation.
    package var outputLimit: Int
    package var workingDirectory: String?

    package init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String?] = [:],
        stdin: Data? = nil,
        timeout: Double? = nil,
        outputLimit: Int = 64 << 20,
        workingDirectory: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.stdin = stdin
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.workingDirectory = workingDirectory
    }

    /// The argv as an operator would type it, for plans, `--verbose` and errors (redacted).
    package var commandLine: String {
        ([executable] + arguments).map(shellQuoted).joined(separator: " ")
    }
}

/// How a subprocess ended.
package enum TerminationStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    package var description: String {
        switch self {
        case .exited(let code): "exited(\(code))"
        case .signaled(let signal): "signaled(\(signal))"
        }
    }
}

/// What a finished subprocess left behind.
package struct ProcessResult: Sendable, Equatable {
    package var status: TerminationStatus
    package var stdout: Data
    package var stderr: Data

    package init(status: TerminationStatus, stdout: Data = Data(), stderr: Data = Data()) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    package var succeeded: Bool { status == .exited(0) }
    package var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    package var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Why a subprocess could not be run to completion.
package enum ProcessError: Error, Equatable, CustomStringConvertible {
    /// The program is not on PATH (or the path does not exist / is not executable).
    case notFound(program: String, path: String)
    case launchFailed(program: String, errno: Int32)
    case timedOut(commandLine: String, seconds: Double, partial: ProcessResult)
    case interrupted(commandLine: String, signal: Int32)
    case outputLimitExceeded(commandLine: String, limit: Int)

    package var description: String {
        switch self {
        case .notFound(let program, _):
            "\(program) not found on PATH"
        case .launchFailed(let program, let code):
            "could not start \(program): \(String(cString: strerror(code)))"
        case .timedOut(let commandLine, let seconds, _):
            "timed out after \(formatSeconds(seconds)): \(Redactor.redact(commandLine))"
        case .interrupted(let commandLine, let signal):
            "interrupted by signal \(signal): \(Redactor.redact(commandLine))"
        case .outputLimitExceeded(let commandLine, let limit):
            "output of \(Redactor.redact(commandLine)) exceeded \(limit) bytes"
        }
    }
}

/// The subprocess seam. The live implementation is `PosixProcessRunner`; tests use a fake that
/// fails on any argv it was not told to expect.
package protocol ProcessRunning: Sendable {
    func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult
}

/// Quotes one argv element so the command line can be pasted into a shell.
package func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@%+")
    if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// `1.5 s`, `250 ms`, `3 min 20 s`: durations the way an operator reads them.
package func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
    if seconds < 60 {
        let rounded = (seconds * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) s" : "\(rounded) s"
    }
    let total = Int(seconds.rounded())
    if total < 3600 { return total % 60 == 0 ? "\(total / 60) min" : "\(total / 60) min \(total % 60) s" }
    let minutes = (total % 3600) / 60
    return minutes == 0 ? "\(total / 3600) h" : "\(total / 3600) h \(minutes) min"
}
