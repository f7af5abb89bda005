import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// What `--verbose` prints about HTTP exchanges, and what it must never print.
final class LoggingHTTPTransportTests: XCTestCase {
    private let output = CapturedOutput()
    private let clock = ManualClock("2026-11-29T02:00:00Z")
    private let fake = FakeHTTPTransport()

    /// Wired the way the CLI wires it: to the console's diagnostics (stderr).
    private func transport() -> LoggingHTTPTransport {
        let console = output.console()
        return LoggingHTTPTransport(fake, clock: clock) { console.diagnostic($0) }
    }

    private var logged: [String] { output.stderr.split(separator: "\n").map(String.init) }

    func testLogsTheRequestLineAndTheOutcome() throws {
        let clock = self.clock
        fake.expect("GET", "http://127.0.0.1:9090/api/v1/query?query=up&time=1764381600.000") { _ in
            clock.advance(by: 0.012)
            return HTTPResponse(status: 200, body: Data(repeating: 0x20, count: 3174))
        }
        let response = try transport().send(
            HTTPRequest(url: "http://127.0.0.1:9090/api/v1/query?query=up&time=1764381600.000"), interrupt: Interrupt())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(logged, [
            "> GET http://127.0.0.1:9090/api/v1/query?query=up&time=1764381600.000",
            "< 200 in 12 ms (3.1 KB)",
        ])
        XCTAssertEqual(output.stdout, "", "diagnostics never go to stdout")
    }

    func testCredentialsAndBodiesAreNeverPrinted() throws {
        let clock = self.clock
        fake.expect("POST", "http://ops:hunter22@127.0.0.1:8123/?database=luminate&password=hunter22") { _ in
            clock.advance(by: 1.5)
            return HTTPResponse(status: 500, body: Data("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist".utf8))
        }
        _ = try transport().send(HTTPRequest(
            method: "POST",
            url: "http://ops:hunter22@127.0.0.1:8123/?database=luminate&password=hunter22",
            headers: [
                ("X-ClickHouse-User", "ops"), ("X-ClickHouse-Key", "hunter22"),
                ("Authorization", "Bearer abc.def.ghi"), ("Content-Type", "text/plain"),
            ],
            body: Data("INSERT INTO t VALUES ('card 4111111111111111')".utf8)), interrupt: Interrupt())
        XCTAssertEqual(logged, [
            "> POST http://<redacted>@127.0.0.1:8123/?database=luminate&password=<redacted>",
            "> X-ClickHouse-User: ops",
            "> X-ClickHouse-Key: <redacted>",
            "> Authorization: <redacted>",
            "> Content-Type: text/plain",
            "> (body 46 B)",
            "< 500 in 1.5 s (64 B)",
        ])
        let all = logged.joined(separator: "\n")
        XCTAssertFalse(all.contains("hunter22"))
        XCTAssertFalse(all.contains("abc.def"))
        XCTAssertFalse(all.contains("4111"))
        XCTAssertFalse(all.contains("doesn't exist"))
    }

    func testRegisteredSecretsAreScrubbedFromOtherHeaders() throws {
        Redactor.register(secret: "registered-secret-42")
        fake.expect("GET", "http://h:1/", status: 204)
        _ = try transport().send(
            HTTPRequest(url: "http://h:1/", headers: [("X-Forwarded-Note", "v=registered-secret-42")]), interrupt: Interrupt())
        XCTAssertEqual(logged, ["> GET http://h:1/", "> X-Forwarded-Note: v=<redacted>", "< 204 in 0 ms (0 B)"])
    }

    func testFileBodiesAndSigningShowWhatAndWhoButNoSecret() throws {
        fake.expect("PUT", "http://127.0.0.1:9000/backups/db/part-1?partNumber=1&uploadId=u1", status: 200)
        _ = try transport().send(HTTPRequest(
            method: "PUT", url: "http://127.0.0.1:9000/backups/db/part-1?partNumber=1&uploadId=u1",
            headers: [("x-amz-content-sha256", "abc123")],
            bodyFile: HTTPFileBody(path: "/var/backups/db.tar", offset: 16 << 20, length: 16 << 20),
            awsSigV4: AWSSigV4Credential(provider: "aws:amz:us-east-1:s3", accessKeyID: "AKIDEXAMPLE", secretAccessKey: "sigv4-secret-9")),
            interrupt: Interrupt())
        XCTAssertEqual(logged, [
            "> PUT http://127.0.0.1:9000/backups/db/part-1?partNumber=1&uploadId=u1",
            "> x-amz-content-sha256: abc123",
            "> (body from file /var/backups/db.tar, 16777216 B from offset 16777216)",
            "> (aws-sigv4 aws:amz:us-east-1:s3 as AKIDEXAMPLE)",
            "< 200 in 0 ms (0 B)",
        ])
        XCTAssertFalse(output.stderr.contains("sigv4-secret-9"))
    }

    func testFailuresAreLoggedAndRethrownUnchanged() {
        let clock = self.clock
        fake.expect("GET", "http://10.0.0.7:8123/ping") { _ in
            clock.advance(by: 30)
            throw HTTPTransportError.timedOut(host: "10.0.0.7:8123", seconds: 30)
        }
        XCTAssertThrowsError(try transport().send(HTTPRequest(url: "http://10.0.0.7:8123/ping"), interrupt: Interrupt())) { error in
            XCTAssertEqual(error as? HTTPTransportError, .timedOut(host: "10.0.0.7:8123", seconds: 30))
        }
        XCTAssertEqual(logged, [
            "> GET http://10.0.0.7:8123/ping",
            "< failed after 30 s: 10.0.0.7:8123 did not answer within 30 s",
        ])
    }

    func testStreamingCountsWhatWentThrough() throws {
        fake.expect("GET", "http://h:1/export", status: 200, body: String(repeating: "x", count: 5000))
        var received = 0
        let response = try transport().stream(HTTPRequest(url: "http://h:1/export"), interrupt: Interrupt()) {
            received += $0.count
        }
        XCTAssertEqual(received, 5000)
        XCTAssertTrue(response.body.isEmpty)
        XCTAssertEqual(logged, ["> GET http://h:1/export", "< 200 in 0 ms (4.9 KB)"])
    }

    func testByteSizesReadTheWayOperatorsExpect() {
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(0), "0 B")
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(1023), "1023 B")
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(1024), "1.0 KB")
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(20 << 20), "20.0 MB")
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(3 << 30), "3.0 GB")
        XCTAssertEqual(LoggingHTTPTransport.formatBytes(5000 << 30), "5000.0 GB")
    }
}
