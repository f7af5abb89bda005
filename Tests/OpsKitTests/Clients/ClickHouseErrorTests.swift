import Foundation
import XCTest
@testable import OpsKit

/// Error bodies as servers write them: the 18.16 ones were captured from a real 18.16.1
/// clickhouse-server and clickhouse-client; the 20.x-23.x ones are recorded from ClickHouse's
/// documentation and issue reports (no modern server can be installed here).
final class ClickHouseErrorTests: XCTestCase {
    // MARK: - The exception forms

    func testParses1816HTTPBody() throws {
        let body = "Code: 60, e.displayText() = DB::Exception: Table luminate.nope doesn't exist., e.what() = DB::Exception\n"
        XCTAssertEqual(ClickHouseException.parse(body),
                       ClickHouseException(code: 60, name: "UNKNOWN_TABLE", message: "Table luminate.nope doesn't exist"))
    }

    func testParses1816SyntaxErrorKeepingTheWholeMessage() throws {
        let body = "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1: SELEC 1. Expected one of: SYSTEM query, SELECT subquery, DESC, e.what() = DB::Exception\n"
        let exception = try XCTUnwrap(ClickHouseException.parse(body))
        XCTAssertEqual(exception.code, 62)
        XCTAssertEqual(exception.name, "SYNTAX_ERROR")
        XCTAssertEqual(exception.message, "Syntax error: failed at position 1: SELEC 1. Expected one of: SYSTEM query, SELECT subquery, DESC")
    }

    func testParses20xBodyWithVersion() {
        let body = "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist. (version 20.8.3.18 (official build))\n"
        XCTAssertEqual(ClickHouseException.parse(body),
                       ClickHouseException(code: 60, name: "UNKNOWN_TABLE", message: "Table default.nope doesn't exist"))
    }

    func testParsesModernBodyWithNameAndVersion() {
        let body = "Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official build))\n"
        XCTAssertEqual(ClickHouseException.parse(body),
                       ClickHouseException(code: 60, name: "UNKNOWN_TABLE", message: "Table default.nope does not exist"))
        let auth = "Code: 516. DB::Exception: ops: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 22.8.5.29 (official build))\n"
        XCTAssertEqual(ClickHouseException.parse(auth)?.code, 516)
        XCTAssertEqual(ClickHouseException.parse(auth)?.name, "AUTHENTICATION_FAILED")
    }

    func testParsesModernBodyWithUnknownName() {
        let body = "Code: 722. DB::Exception: Something new happened. (SOMETHING_NEW) (version 25.1.1.1 (official build))"
        XCTAssertEqual(ClickHouseException.parse(body), ClickHouseException(code: 722, name: "SOMETHING_NEW", message: "Something new happened"))
    }

    func testParsesClientStderr1816() {
        let stderr = "Received exception from server (version 18.16.1):\nCode: 60. DB::Exception: Received from 127.0.0.1:33735. DB::Exception: Table system.nope doesn't exist.. \n"
        XCTAssertEqual(ClickHouseException.parse(stderr),
                       ClickHouseException(code: 60, name: "UNKNOWN_TABLE", message: "Table system.nope doesn't exist"))
        let auth = "Code: 193. DB::Exception: Received from 127.0.0.1:33735. DB::Exception: Wrong password for user ops. \n"
        XCTAssertEqual(ClickHouseException.parse(auth),
                       ClickHouseException(code: 193, name: "WRONG_PASSWORD", message: "Wrong password for user ops"))
        let refused = "Code: 210. DB::NetException: Connection refused (127.0.0.1:1)\n"
        XCTAssertEqual(ClickHouseException.parse(refused),
                       ClickHouseException(code: 210, name: "NETWORK_ERROR", message: "Connection refused (127.0.0.1:1)"))
    }

    func testParsesModernClientStderrWithQueryAndStackTrace() {
        let stderr = """
            Received exception from server (version 23.8.2):
            Code: 60. DB::Exception: Received from localhost:9000. DB::Exception: Table default.nope does not exist. Stack trace:

            0. DB::Exception::Exception() @ 0x000000000c61ff37 in /usr/bin/clickhouse
            . (UNKNOWN_TABLE)
            (query: SELECT * FROM nope)
            """
        XCTAssertEqual(ClickHouseException.parse(stderr),
                       ClickHouseException(code: 60, name: "UNKNOWN_TABLE", message: "Table default.nope does not exist"))
    }

    func testA1816MessageEndingInCapitalsKeepsThem() {
        let body = "Code: 36, e.displayText() = DB::Exception: Unknown mode (FAST), e.what() = DB::Exception"
        XCTAssertEqual(ClickHouseException.parse(body),
                       ClickHouseException(code: 36, name: "BAD_ARGUMENTS", message: "Unknown mode (FAST)"))
    }

    func testLastPicksTheExceptionAppendedAfterStreamedData() {
        let body = "{\"note\":\"Code: 5, not an error\"}\n{\"n\":1}\nCode: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n"
        XCTAssertEqual(ClickHouseException.parse(body, last: true)?.code, 241)
        XCTAssertEqual(ClickHouseException.parse(body)?.code, 5)
    }

    func testNoExceptionInOrdinaryText() {
        for text in ["", "Ok.", "<html><body>502 Bad Gateway</body></html>", "Code: ", "Code: x.", "Code: 12", "Code: 1234567890. too long"] {
            XCTAssertNil(ClickHouseException.parse(text), text)
        }
    }

    // MARK: - HTTP answers to errors

    private func http(_ status: Int, _ body: String, headers: [String: String] = [:], passwordSource: String? = "from file /run/ch") -> ClickHouseError {
        ClickHouseError.fromHTTP(status: status, headers: headers, body: body, host: "127.0.0.1:8123",
                                 queryID: "luminatectl-q1", user: "ops", passwordSource: passwordSource)
    }

    func testHTTPServerErrorNamesHostQueryIDAndCode() {
        let error = http(404, "Code: 60, e.displayText() = DB::Exception: Table luminate.nope doesn't exist., e.what() = DB::Exception\n")
        XCTAssertEqual(error, .server(code: 60, name: "UNKNOWN_TABLE", message: "Table luminate.nope doesn't exist",
                                      host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 404))
        XCTAssertEqual(error.description,
                       "clickhouse 127.0.0.1:8123 failed query luminatectl-q1: code 60 (UNKNOWN_TABLE), http 404: Table luminate.nope doesn't exist")
        XCTAssertNotNil(error.hint)
        XCTAssertEqual(error.code, 60)
        XCTAssertEqual(error.exitCode, .failure)
    }

    func testHTTPAuthenticationCodesBecomeAuthenticationErrors() {
        let wrong = http(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user ops, e.what() = DB::Exception\n")
        XCTAssertEqual(wrong, .authentication(user: "ops", host: "127.0.0.1:8123", code: 193, passwordSource: "from file /run/ch"))
        XCTAssertEqual(wrong.description, "clickhouse 127.0.0.1:8123 refused user ops: wrong password (code 193)")
        XCTAssertEqual(wrong.hint, "check the password for ops (from file /run/ch)")

        let unknown = http(401, "Code: 192, e.displayText() = DB::Exception: Unknown user ghost, e.what() = DB::Exception\n")
        XCTAssertEqual(unknown.description, "clickhouse 127.0.0.1:8123 refused user ops: unknown user (code 192)")
        XCTAssertEqual(unknown.hint, "the server has no user ops: check --clickhouse-user / LUMINATECTL_CLICKHOUSE_USER")

        let modern = http(403, "Code: 516. DB::Exception: ops: Authentication failed. (AUTHENTICATION_FAILED) (version 23.8.2.7 (official build))\n",
                          headers: ["x-clickhouse-exception-code": "516"], passwordSource: nil)
        XCTAssertEqual(modern, .authentication(user: "ops", host: "127.0.0.1:8123", code: 516, passwordSource: nil))
        XCTAssertEqual(modern.hint, "no password was given for ops: set LUMINATECTL_CLICKHOUSE_PASSWORD_FILE or LUMINATECTL_CLICKHOUSE_PASSWORD")
    }

    func testHeaderCodeWinsAndWorksWithoutABodyCode() {
        let withBody = http(500, "Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official build))",
                            headers: ["x-clickhouse-exception-code": "60"])
        XCTAssertEqual(withBody, .server(code: 60, name: "UNKNOWN_TABLE", message: "Table default.nope does not exist",
                                         host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 500))
        let headerOnly = http(500, "something odd", headers: ["x-clickhouse-exception-code": " 159 "])
        XCTAssertEqual(headerOnly, .server(code: 159, name: "TIMEOUT_EXCEEDED", message: "something odd",
                                           host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 500))
    }

    func testNonClickHouseAnswersAreUnexpectedResponses() {
        XCTAssertEqual(http(502, "<html><body>502 Bad Gateway</body></html>"),
                       .unexpectedResponse(host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 502,
                                           detail: "<html><body>502 Bad Gateway</body></html>"))
        XCTAssertEqual(http(500, "  \n").description,
                       "unexpected answer from clickhouse 127.0.0.1:8123 to query luminatectl-q1 (http 500): empty body")
    }

    func testServerEchoOfSecretsIsRedacted() {
        Redactor.register(secret: "hunter2-ch-error-test")
        let error = http(400, "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 9: 'hunter2-ch-error-test' password=abc, e.what() = DB::Exception")
        XCTAssertFalse(error.description.contains("hunter2-ch-error-test"))
        XCTAssertFalse(error.description.contains("password=abc"))
    }

    // MARK: - clickhouse-client failures

    private func client(_ exit: Int32, _ stderr: String) -> ClickHouseError {
        ClickHouseError.fromClient(status: .exited(exit), stderr: stderr, commandLine: "clickhouse-client --query 'SELECT 1'",
                                   host: "127.0.0.1:9000", queryID: "luminatectl-n1", user: "ops", passwordSource: nil)
    }

    func testClientExitCodeIsMappedBackThroughStderr() {
        // 516 exits 4 (516 mod 256): the code comes from stderr, not from the exit status.
        XCTAssertEqual(client(4, "Code: 516. DB::Exception: Received from localhost:9000. DB::Exception: ops: Authentication failed. (AUTHENTICATION_FAILED)\n"),
                       .authentication(user: "ops", host: "127.0.0.1:9000", code: 516, passwordSource: nil))
        XCTAssertEqual(client(60, "Received exception from server (version 18.16.1):\nCode: 60. DB::Exception: Received from 127.0.0.1:9000. DB::Exception: Table system.nope doesn't exist.. \n"),
                       .server(code: 60, name: "UNKNOWN_TABLE", message: "Table system.nope doesn't exist",
                               host: "127.0.0.1:9000", queryID: "luminatectl-n1", status: nil))
        let refused = client(210, "Code: 210. DB::NetException: Connection refused (127.0.0.1:9000)\n")
        XCTAssertEqual(refused, .unreachable(host: "127.0.0.1:9000", underlying: "Connection refused (127.0.0.1:9000)",
                                             hint: ClickHouseError.unreachableNativeHint(host: "127.0.0.1:9000")))
        XCTAssertEqual(refused.hint, "is ClickHouse listening for clickhouse-client at 127.0.0.1:9000? check LUMINATECTL_CLICKHOUSE_NATIVE (clickhouse.native in the configuration)")
    }

    func testClientFailureWithoutExceptionKeepsStderr() {
        XCTAssertEqual(client(78, "File not found: /tmp/x/client.xml\n"),
                       .clientFailed(host: "127.0.0.1:9000", commandLine: "clickhouse-client --query 'SELECT 1'",
                                     status: "exited(78)", stderr: "File not found: /tmp/x/client.xml"))
        let signaled = ClickHouseError.fromClient(status: .signaled(9), stderr: "Code: 60. DB::Exception: late", commandLine: "clickhouse-client",
                                                  host: "h:9000", queryID: nil, user: "ops", passwordSource: nil)
        XCTAssertEqual(signaled.description, "clickhouse-client for h:9000 signaled(9): clickhouse-client output: Code: 60. DB::Exception: late")
    }

    // MARK: - Transport-level cases

    func testDescriptionsAreLowercaseWithoutTrailingPeriod() {
        let errors: [ClickHouseError] = [
            .unreachable(host: "127.0.0.1:8123", underlying: "Couldn't connect to server (curl error 7)",
                         hint: ClickHouseError.unreachableHint(url: "http://127.0.0.1:8123")),
            .timedOut(host: "h:8123", queryID: "luminatectl-q", seconds: 30, killed: true),
            .interrupted(host: "h:8123", queryID: "luminatectl-q", killed: false),
            .responseTooLarge(host: "h:8123", queryID: "luminatectl-q", limit: 1024),
            .decoding(host: "h:8123", queryID: "luminatectl-q", detail: "data[0].n: expected UInt64"),
            .clientMissing(program: "clickhouse-client"),
            .localFile(path: "/tmp/x", reason: "Permission denied"),
        ]
        for error in errors {
            XCTAssertEqual(error.description.first.map { String($0) }, error.description.first.map { String($0).lowercased() }, error.description)
            XCTAssertFalse(error.description.hasSuffix("."), error.description)
        }
        XCTAssertEqual(errors[0].hint, "is ClickHouse running at http://127.0.0.1:8123? check --clickhouse-url / LUMINATECTL_CLICKHOUSE_URL")
        XCTAssertEqual(errors[1].description, "clickhouse h:8123 did not finish query luminatectl-q within 30 s; the query was killed")
        XCTAssertEqual(errors[2].exitCode, .interrupted)
        XCTAssertEqual(errors[5].hint, "install clickhouse-client (apt-get install clickhouse-client) or put it on PATH")
    }

    // MARK: - Fuzz

    func testParsingNeverTrapsOnRandomBytes() {
        var random = ClickHouseTestRandom(seed: 0xF0CC)
        for _ in 0..<4000 {
            let bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = ClickHouseException.parse(text)
            _ = ClickHouseException.parse(text, last: true)
            _ = http(Int.random(in: 100...599, using: &random), text, headers: ["x-clickhouse-exception-code": String(decoding: bytes.prefix(4), as: UTF8.self)]).description
            _ = client(Int32.random(in: 0...255, using: &random), text).description
        }
    }

    func testParsingNeverTrapsOnExceptionShapedNoise() {
        let tokens = ["Code: ", "Code: 60", "Code: 516.", "Code: 62,", "999999999", "1234567890", ".", ",", " ", "\n", "\n\n",
                      "e.displayText() = ", "DB::Exception: ", "DB::NetException: ", "Received from ", "host:9000. ",
                      ", e.what() = ", " (version ", "23.8", "(", ")", "(UNKNOWN_TABLE)", "(", "Stack trace", "\n(query:",
                      "é", "🙂", "\u{301}", "\0", "'", "\\", "Exception: ", "Poco::Exception. ", "..", "(A_1)"]
        var random = ClickHouseTestRandom(seed: 0xC0DE)
        for _ in 0..<6000 {
            let text = (0..<Int.random(in: 0...16, using: &random)).map { _ in tokens.randomElement(using: &random)! }.joined()
            for last in [false, true] {
                guard let exception = ClickHouseException.parse(text, last: last) else { continue }
                XCTAssertTrue((0...999_999_999).contains(exception.code), text.debugDescription)
                XCTAssertFalse(exception.message.hasSuffix("."), text.debugDescription)
                XCTAssertEqual(exception.message, exception.message.trimmingCharacters(in: .whitespacesAndNewlines), text.debugDescription)
            }
            _ = http(500, text).description
            _ = client(1, text).hint
        }
    }
}
