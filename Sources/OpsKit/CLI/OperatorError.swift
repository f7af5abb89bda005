/// An error written for the person at the terminal: one `Error:` line, optionally a `hint:` line
/// saying what to check, and the exit code it maps to.
package protocol OperatorError: Error, CustomStringConvertible {
    var hint: String? { get }
    var exitCode: ExitCode { get }
}

extension OperatorError {
    package var hint: String? { nil }
    package var exitCode: ExitCode { .failure }
}

/// A wrong command line: printed with the usage line and a pointer to `--help`, exit 64.
package struct UsageError: OperatorError, Equatable {
    package var message: String
    /// The command path the error belongs to (`["config", "view"]`), for the usage line.
    package var commandPath: [String]

    package init(_ message: String, commandPath: [String] = []) {
        self.message = message
        self.commandPath = commandPath
    }

    package var description: String { message }
    package var exitCode: ExitCode { .usage }
}

/// A value that breaks a rule (`--replicas must be an integer >= 0`), whether from a flag, an
/// environment variable or the configuration file. Exit 64: nothing was done.
package struct ValidationError: OperatorError, Equatable {
    package var message: String
    package var hint: String?

    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    package var description: String { message }
    package var exitCode: ExitCode { .usage }
}
