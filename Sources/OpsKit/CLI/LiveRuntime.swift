import Foundation

/// The real world: the live context (processes, libcurl, the wall clock, the terminal) and the
/// signal handling of a run. `main.swift` calls `LiveRuntime.main` and nothing else.
package enum LiveRuntime {
    package static func main(_ argv: [String]) -> Int32 {
        let interrupt = Interrupt()
        installSignalHandlers(interrupt)
        let environment = ProcessInfo.processInfo.environment
        let stdoutTTY = isatty(1) == 1
        let stderrTTY = isatty(2) == 1
        let console = Console(
            stdoutIsTTY: stdoutTTY, stderrIsTTY: stderrTTY,
            colourEnabled: environment["NO_COLOR"].map(\.isEmpty) ?? true,
            writeOut: { writeAll(1, $0) }, writeErr: { writeAll(2, $0) })
        let context = Context(
            processes: PosixProcessRunner(),
            http: CurlTransport(userAgent: "luminatectl/\(luminatectlVersion)"),
            clock: SystemClock(),
            console: console,
            environment: environment,
            workingDirectory: FileManager.default.currentDirectoryPath,
            interrupt: interrupt,
            makeHTTP: { caFile, insecure in
                CurlTransport(caFile: caFile, insecureSkipTLSVerify: insecure, userAgent: "luminatectl/\(luminatectlVersion)")
            },
            makeOperations: { configuration, context in
                // The journal first: an unwritable journal stops the command before the lock is taken.
                let journal = try LiveOperations.journal(configuration: configuration, context: context)
                return OperationServices(journal: journal, lock: try LiveOperations.lock(configuration: configuration, context: context))
            })
        return Luminatectl.run(argv, context: context).rawValue
    }

    /// First SIGINT/SIGTERM: raise the interrupt, so running subprocesses get the signal, HTTP
    /// transfers abort, the journal records `interrupted` and the lock is released. A second one
    /// exits at once.
    private static func installSignalHandlers(_ interrupt: Interrupt) {
        signal(SIGPIPE, SIG_IGN)
        for signo in [SIGINT, SIGTERM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler {
                if interrupt.isSet {
                    writeAll(2, "\nInterrupted again: exiting now\n")
                    _exit(128 + signo)
                }
                interrupt.raise(signo)
                writeAll(2, "\nInterrupted: stopping cleanly (press Ctrl-C again to exit at once)\n")
            }
            source.resume()
            retainedSources.append(source)
        }
    }

    /// Signal sources live as long as the process; written once, before any other thread runs.
    nonisolated(unsafe) private static var retainedSources: [any DispatchSourceSignal] = []

    /// Unbuffered, whole writes: results and diagnostics appear in the order they were written
    /// even when stdout and stderr go to the same pipe.
    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}
