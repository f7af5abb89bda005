import Foundation

/// Every side effect luminatectl has goes through one of these seams: logic never spawns a
/// process, opens a connection, reads the wall clock or prints on its own. The live context is
/// built once in `main.swift`; tests build one from fakes that fail on anything unexpected.
package struct Context: Sendable {
    package var processes: any ProcessRunning
    package var http: any HTTPTransport
    package var clock: any TimeSource
    package var console: Console
    /// The process environment as the command sees it (tests hand in their own).
    package var environment: [String: String]
    /// Where relative paths (`./luminatectl.yaml`, `--manifests dir`) are resolved.
    package var workingDirectory: String
    /// Set by SIGINT/SIGTERM; long-running work polls it and stops cleanly.
    package var interrupt: Interrupt
    /// Builds an HTTP transport with other TLS settings (a CA file, or verification off), once the
    /// configuration says which. Nil keeps `http` for every endpoint (tests).
    package var makeHTTP: (@Sendable (_ caFile: String?, _ insecureSkipTLSVerify: Bool) -> any HTTPTransport)?
    /// Builds the journal and the lock of an environment for mutating operations (live: the
    /// JSON Lines journal and the Lease; tests: in-memory ones).
    package var makeOperations: (@Sendable (Configuration, Context) throws -> OperationServices)?

    package init(
        processes: any ProcessRunning,
        http: any HTTPTransport,
        clock: any TimeSource,
        console: Console,
        environment: [String: String],
        workingDirectory: String,
        interrupt: Interrupt = Interrupt(),
        makeHTTP: (@Sendable (_ caFile: String?, _ insecureSkipTLSVerify: Bool) -> any HTTPTransport)? = nil,
        makeOperations: (@Sendable (Configuration, Context) throws -> OperationServices)? = nil
    ) {
        self.processes = processes
        self.http = http
        self.clock = clock
        self.console = console
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.interrupt = interrupt
        self.makeHTTP = makeHTTP
        self.makeOperations = makeOperations
    }

    /// The transport to use with these TLS settings.
    package func http(caFile: String?, insecureSkipTLSVerify: Bool) -> any HTTPTransport {
        guard caFile != nil || insecureSkipTLSVerify, let makeHTTP else { return http }
        return makeHTTP(caFile, insecureSkipTLSVerify)
    }

    /// Resolves `path` against the working directory unless it is absolute.
    package func resolve(path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = environment["HOME"] {
            return home + String(path.dropFirst(1))
        }
        return workingDirectory.hasSuffix("/") ? workingDirectory + path : workingDirectory + "/" + path
    }
}
