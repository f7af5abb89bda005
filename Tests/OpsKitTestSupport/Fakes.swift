import Foundation
import OpsKit
import Synchronization

/// Raised by a fake when it is asked for something the test did not set up. Fakes never answer
/// silently: an unexpected call is a bug in the code under test or in the test.
package struct UnexpectedCall: Error, CustomStringConvertible {
    package let description: String
    package init(description: String) { self.description = description }
}

/// A `ProcessRunning` fake: a queue of expected argv with canned results, consumed in order.
package final class FakeProcessRunner: ProcessRunning {
    package struct Expectation: Sendable {
        let executable: String
        let arguments: [String]
        let stdin: Data?
        let respond: @Sendable (ProcessRequest) throws -> ProcessResult
    }

    private let state = Mutex<(expected: [Expectation], received: [ProcessRequest])>(([], []))

    package init() {}

    /// Expects `executable arguments...` next; answers with the given exit code and output.
    package func expect(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        exit: Int32 = 0, stdout: String = "", stderr: String = ""
    ) {
        expect(executable, arguments, stdin: stdin) { _ in
            ProcessResult(status: .exited(exit), stdout: Data(stdout.utf8), stderr: Data(stderr.utf8))
        }
    }

    /// Expects `executable arguments...` next; `respond` computes the answer (or throws).
    package func expect(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        respond: @escaping @Sendable (ProcessRequest) throws -> ProcessResult
    ) {
        state.withLock {
            $0.expected.append(Expectation(
                executable: executable, arguments: arguments, stdin: stdin.map { Data($0.utf8) }, respond: respond))
        }
    }

    package var received: [ProcessRequest] { state.withLock { $0.received } }
    package var pending: Int { state.withLock { $0.expected.count } }

    package func run(_ request: ProcessRequest, interrupt: Interrupt) throws -> ProcessResult {
        let next: Expectation? = state.withLock {
            $0.received.append(request)
            return $0.expected.isEmpty ? nil : $0.expected.removeFirst()
        }
        guard let next else {
            throw UnexpectedCall(description: "unexpected subprocess: \(request.commandLine)")
        }
        guard next.executable == request.executable, next.arguments == request.arguments else {
            throw UnexpectedCall(description: """
                unexpected subprocess:
                  expected: \(([next.executable] + next.arguments).map(shellQuoted).joined(separator: " "))
                  received: \(request.commandLine)
                """)
        }
        if let stdin = next.stdin, stdin != request.stdin {
            throw UnexpectedCall(description: "unexpected stdin for \(request.commandLine): \(String(decoding: request.stdin ?? Data(), as: UTF8.self))")
        }
        return try next.respond(request)
    }
}

/// An `HTTPTransport` fake: expected requests (method and URL, optionally a check of the whole
/// request) with canned responses, consumed in order.
package final class FakeHTTPTransport: HTTPTransport {
    package struct Expectation: Sendable {
        let method: String
        let url: String
        /// Match only the URL's beginning (for URLs carrying a random query id).
        let prefix: Bool
        let respond: @Sendable (HTTPRequest) throws -> HTTPResponse
    }

    private let state = Mutex<(expected: [Expectation], received: [HTTPRequest])>(([], []))

    package init() {}

    package func expect(_ method: String, _ url: String, status: Int = 200, body: String = "", headers: [String: String] = [:]) {
        expect(method, url) { _ in HTTPResponse(status: status, headers: headers, body: Data(body.utf8)) }
    }

    package func expect(_ method: String, _ url: String, respond: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        state.withLock { $0.expected.append(Expectation(method: method, url: url, prefix: false, respond: respond)) }
    }

    /// Expects a request whose URL starts with `urlPrefix`.
    package func expect(_ method: String, urlPrefix: String, status: Int = 200, body: String = "") {
        expect(method, urlPrefix: urlPrefix) { _ in HTTPResponse(status: status, body: Data(body.utf8)) }
    }

    /// Expects a request whose URL starts with `urlPrefix`; `respond` computes the answer.
    package func expect(_ method: String, urlPrefix: String, respond: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        state.withLock { $0.expected.append(Expectation(method: method, url: urlPrefix, prefix: true, respond: respond)) }
    }

    package var received: [HTTPRequest] { state.withLock { $0.received } }
    package var pending: Int { state.withLock { $0.expected.count } }

    package func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        let next: Expectation? = state.withLock {
            $0.received.append(request)
            return $0.expected.isEmpty ? nil : $0.expected.removeFirst()
        }
        guard let next else { throw UnexpectedCall(description: "unexpected HTTP request: \(request.method) \(request.url)") }
        guard next.method == request.method, next.prefix ? request.url.hasPrefix(next.url) : next.url == request.url else {
            throw UnexpectedCall(description: """
                unexpected HTTP request:
                  expected: \(next.method) \(next.url)
                  received: \(request.method) \(request.url)
                """)
        }
        return try next.respond(request)
    }
}

/// A clock that moves only when told to; `sleep` advances it instantly.
package final class ManualClock: TimeSource {
    private let current: Mutex<Date>

    package init(_ start: Date) { current = Mutex(start) }

    /// `ManualClock("2026-11-29T02:00:00Z")`
    package convenience init(_ iso8601: String) {
        self.init(ISO8601DateFormatter().date(from: iso8601)!)
    }

    package func now() -> Date { current.withLock { $0 } }
    package func advance(by seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    package func sleep(seconds: Double, interrupt: Interrupt) { advance(by: seconds) }
}

/// Captures what a command writes, stdout and stderr apart.
package final class CapturedOutput: Sendable {
    private let state = Mutex<(out: String, err: String)>(("", ""))

    package init() {}

    package var stdout: String { state.withLock { $0.out } }
    package var stderr: String { state.withLock { $0.err } }

    /// A console writing here; not a TTY unless told, so no colour and no progress rewriting.
    package func console(tty: Bool = false, colour: Bool = false) -> Console {
        Console(
            stdoutIsTTY: tty, stderrIsTTY: tty, colourEnabled: colour,
            writeOut: { text in self.state.withLock { $0.out += text } },
            writeErr: { text in self.state.withLock { $0.err += text } })
    }
}

extension Context {
    /// A context made only of fakes: any subprocess or HTTP request not expected fails the test.
    package static func fake(
        processes: FakeProcessRunner = FakeProcessRunner(),
        http: FakeHTTPTransport = FakeHTTPTransport(),
        clock: ManualClock = ManualClock("2026-11-29T02:00:00Z"),
        output: CapturedOutput = CapturedOutput(),
        environment: [String: String] = [:],
        workingDirectory: String = "/nonexistent-luminatectl-test-dir"
    ) -> Context {
        Context(
            processes: processes, http: http, clock: clock, console: output.console(),
            environment: environment, workingDirectory: workingDirectory)
    }
}
