import Foundation

/// `--verbose` for subprocesses: wraps any `ProcessRunning` and reports each command line before
/// it runs and how it ended after, so an operator can rerun by hand exactly what luminatectl ran.
///
/// ```
/// + kubectl --context prod apply -f - -o json
///   stdin: 1532 bytes
///   exited(0) in 42 ms
/// ```
///
/// Only sizes of stdin and names of environment overrides are shown: manifests piped to
/// `kubectl apply` carry Secrets, and overrides carry passwords (`CLICKHOUSE_PASSWORD`).
/// Everything logged goes through `Redactor.redact`.
package struct LoggingProcessRunner: ProcessRunning {
    package let wrapped: any ProcessRunning
    private let log: @Sendable (String) -> Void
    private let clock: any TimeSource

    package init(wrapping wrapped: any ProcessRunning, clock: any TimeSource = SystemClock(), log: @escaping @Sendable (String) -> Void) {
        self.wrapped = wrapped
        self.clock = clock
        self.log = log
    }

    package func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        log(Redactor.redact("+ " + request.commandLine))
        if let stdin = request.stdin {
            log("  stdin: \(stdin.count) bytes")
        }
        if !request.environment.isEmpty {
            let set = request.environment.filter { $0.value != nil }.keys.sorted()
            let unset = request.environment.filter { $0.value == nil }.keys.sorted()
            let parts = (set.isEmpty ? [] : ["set " + set.joined(separator: ", ")])
                + (unset.isEmpty ? [] : ["unset " + unset.joined(separator: ", ")])
            log(Redactor.redact("  environment: " + parts.joined(separator: "; ")))
        }
        let start = clock.now()
        do {
            let result = try wrapped.run(request, interrupt: interrupt)
            log("  \(result.status) in \(formatSeconds(clock.now().timeIntervalSince(start)))")
            return result
        } catch {
            log(Redactor.redact("  failed after \(formatSeconds(clock.now().timeIntervalSince(start))): \(error)"))
            throw error
        }
    }
}
