import Foundation

/// What the security command said about one image.
package struct SecurityScan: Sendable, Equatable {
    package var image: String
    /// The command line as run (redacted), for the operator to repeat it.
    package var commandLine: String
    package var status: TerminationStatus
    /// The last lines of its output (stdout, then stderr), which is where scanners summarise.
    package var outputTail: [String]

    package init(image: String, commandLine: String, status: TerminationStatus, outputTail: [String]) {
        self.image = image
        self.commandLine = commandLine
        self.status = status
        self.outputTail = outputTail
    }

    package var passed: Bool { status == .exited(0) }

    package var json: JSONValue {
        var exit: JSONValue = .null
        var signal: JSONValue = .null
        switch status {
        case .exited(let code): exit = .number(Double(code))
        case .signaled(let number): signal = .number(Double(number))
        }
        return ["image": .string(image), "command": .string(commandLine), "exit": exit, "signal": signal,
                "output": .array(outputTail.map(JSONValue.string))]
    }
}

/// Runs the security check on a deployed image: a command in production, a fake in tests.
package protocol SecurityScanner: Sendable {
    /// Throws when the command could not be run at all (not found, timed out): inconclusive.
    func scan(image: String) throws -> SecurityScan
}

/// `policy.rollback.security.command`, run once per image through the process seam with `{image}`
/// replaced in each argument. Only the image is substituted: nothing from the environment is
/// expanded into argv (where `ps` shows it to every user), and there is no shell. A scanner that
/// needs a token reads it from its own environment or config, as the operator's shell gives it.
package struct CommandSecurityScanner: SecurityScanner {
    package static let placeholder = "{image}"

    package var command: [String]
    package var processes: any ProcessRunning
    package var interrupt: Interrupt
    /// Image scanners download vulnerability databases; 10 minutes is generous, not endless.
    package var timeout: Double
    package var tailLines = 10

    package init(command: [String], processes: any ProcessRunning, interrupt: Interrupt, timeout: Double = 600) {
        self.command = command
        self.processes = processes
        self.interrupt = interrupt
        self.timeout = timeout
    }

    /// The exact request for `image`.
    package func request(image: String) -> ProcessRequest {
        let argv = command.map { $0.replacingOccurrences(of: Self.placeholder, with: image) }
        return ProcessRequest(argv[0], Array(argv.dropFirst()), timeout: timeout, outputLimit: 16 << 20)
    }

    package func scan(image: String) throws -> SecurityScan {
        let request = request(image: image)
        let result = try processes.run(request, interrupt: interrupt)
        let lines = (result.stdoutText + "\n" + result.stderrText).split(whereSeparator: \.isNewline)
            .map { Redactor.redact(String($0)) }.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        return SecurityScan(image: image, commandLine: Redactor.redact(request.commandLine), status: result.status,
                            outputTail: Array(lines.suffix(tailLines)))
    }
}
