import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// What `--verbose` shows for subprocesses, line for line, through the fake runner and a manual clock.
final class LoggingProcessRunnerTests: XCTestCase {
    /// The log closure's sink; a class so the `@Sendable` closure can hold it.
    private final class Lines: Sendable {
        let state = Mutex<[String]>([])
    }
    private let lines = Lines()
    private var logged: [String] { lines.state.withLock { $0 } }

    private func runner(_ fake: FakeProcessRunner, clock: ManualClock) -> LoggingProcessRunner {
        let lines = self.lines
        return LoggingProcessRunner(wrapping: fake, clock: clock) { line in lines.state.withLock { $0.append(line) } }
    }

    func testLogsCommandLineAndExitStatusWithDuration() throws {
        let fake = FakeProcessRunner()
        let clock = ManualClock("2026-11-29T02:00:00Z")
        fake.expect("kubectl", ["--context", "prod west", "get", "deployment", "ingest", "-o", "json"]) { _ in
            clock.advance(by: 0.042)
            return ProcessResult(status: .exited(0), stdout: Data("{}".utf8))
        }
        let result = try runner(fake, clock: clock).run(
            ProcessRequest("kubectl", ["--context", "prod west", "get", "deployment", "ingest", "-o", "json"]),
            interrupt: Interrupt())
        XCTAssertEqual(result.stdoutText, "{}")
        XCTAssertEqual(logged, [
            "+ kubectl --context 'prod west' get deployment ingest -o json",
            "  exited(0) in 42 ms",
        ])
    }

    func testNonZeroExitIsPassedThroughAndLogged() throws {
        let fake = FakeProcessRunner()
        let clock = ManualClock("2026-11-29T02:00:00Z")
        fake.expect("kubectl", ["get", "pods"]) { _ in
            clock.advance(by: 1.5)
            return ProcessResult(status: .exited(1), stderr: Data("Error from server (Forbidden)".utf8))
        }
        let result = try runner(fake, clock: clock).run(ProcessRequest("kubectl", ["get", "pods"]), interrupt: Interrupt())
        XCTAssertEqual(result.status, .exited(1))
        XCTAssertEqual(logged, ["+ kubectl get pods", "  exited(1) in 1.5 s"])
    }

    func testSecretsInArgumentsAreRedactedAndStdinAndEnvironmentShowOnlySizesAndNames() throws {
        let fake = FakeProcessRunner()
        let clock = ManualClock("2026-11-29T02:00:00Z")
        let manifest = #"{"kind":"Secret","stringData":{"password":"hunter2-very-secret"}}"#
        fake.expect("clickhouse-client", ["--host", "ch-0", "--query", "SELECT 1", "--password=hunter2-very-secret"], stdin: manifest)
        let request = ProcessRequest(
            "clickhouse-client", ["--host", "ch-0", "--query", "SELECT 1", "--password=hunter2-very-secret"],
            environment: ["CLICKHOUSE_PASSWORD": "hunter2-very-secret", "HOME": nil], stdin: Data(manifest.utf8))
        _ = try runner(fake, clock: clock).run(request, interrupt: Interrupt())
        XCTAssertEqual(logged, [
            "+ clickhouse-client --host ch-0 --query 'SELECT 1' --password=<redacted>",
            "  stdin: \(manifest.utf8.count) bytes",
            "  environment: set CLICKHOUSE_PASSWORD; unset HOME",
            "  exited(0) in 0 ms",
        ])
        XCTAssertFalse(logged.joined().contains("hunter2"))
    }

    func testErrorsAreLoggedAndRethrown() {
        let fake = FakeProcessRunner()
        let clock = ManualClock("2026-11-29T02:00:00Z")
        fake.expect("kubectl", ["version"]) { _ in
            clock.advance(by: 2)
            throw ProcessError.notFound(program: "kubectl", path: "/usr/bin")
        }
        XCTAssertThrowsError(try runner(fake, clock: clock).run(ProcessRequest("kubectl", ["version"]), interrupt: Interrupt())) { error in
            XCTAssertEqual(error as? ProcessError, .notFound(program: "kubectl", path: "/usr/bin"))
        }
        XCTAssertEqual(logged, ["+ kubectl version", "  failed after 2 s: kubectl not found on PATH"])
    }
}
