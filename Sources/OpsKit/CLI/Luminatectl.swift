import Foundation

/// luminatectl's version, printed by `--version` and recorded in every journal record.
package let luminatectlVersion = "0.1.0"

/// The program: parses the command line against the command table, runs the command through the
/// context, and turns every error into an `Error:` line and an exit code.
package enum Luminatectl {
    /// Runs one command line (without the program name) and returns the exit code.
    package static func run(_ argv: [String], context baseContext: Context, root: Command = CommandTable.root) -> ExitCode {
        var context = baseContext
        let parser = ArgumentParser(root: root)
        let help = HelpRenderer()
        let parsed: ParsedCommandLine
        do {
            parsed = try parser.parse(argv)
        } catch let error as UsageError {
            let command = parser.command(at: error.commandPath) ?? root
            context.console.diagnosticText(help.usageError(error, command: command))
            return .usage
        } catch {
            context.console.error(String(describing: error))
            return .usage
        }

        switch parsed {
        case .version:
            context.console.line("luminatectl \(luminatectlVersion)")
            return .success
        case .help(let path):
            context.console.write(help.help(for: parser.command(at: path) ?? root, path: path))
            return .success
        case .run(let command, let invocation):
            let globals = invocation.globals
            if globals.noColor || context.environment["NO_COLOR"].map({ !$0.isEmpty }) == true {
                context.console.colourEnabled = false
            }
            if globals.verbose {
                let console = context.console
                let log: @Sendable (String) -> Void = { console.diagnostic(Redactor.redact($0)) }
                context.processes = LoggingProcessRunner(wrapping: context.processes, clock: context.clock, log: log)
                context.http = LoggingHTTPTransport(context.http, clock: context.clock, log: log)
                if let make = context.makeHTTP {
                    let clock = context.clock
                    context.makeHTTP = { caFile, insecure in
                        LoggingHTTPTransport(make(caFile, insecure), clock: clock, log: log)
                    }
                }
            }
            if globals.insecureSkipTLSVerify {
                context.console.warning("TLS certificate verification is off (--insecure-skip-tls-verify): anyone on the path can read and change this traffic")
            }
            do {
                guard let action = command.action else { return .usage }
                return try action(invocation, context)
            } catch let error as UsageError {
                context.console.diagnosticText(help.usageError(error, command: command))
                return .usage
            } catch let error as any OperatorError {
                context.console.error(Redactor.redact(error.description), hint: error.hint.map(Redactor.redact))
                return context.interrupt.isSet ? .interrupted : error.exitCode
            } catch {
                context.console.error(Redactor.redact(String(describing: error)))
                return context.interrupt.isSet ? .interrupted : .failure
            }
        }
    }
}

extension Console {
    /// Writes already formatted diagnostics (several lines) to stderr.
    package func diagnosticText(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            diagnostic(String(line))
        }
    }
}
