import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Records, for each request, whether the interrupt it was sent with had fired, then hands it to
/// the fake. The kill after a Ctrl-C must go out with a fresh interrupt, or it would be stopped too.
private final class InterruptObservingTransport: HTTPTransport {
    let fake: FakeHTTPTransport
    private let seen = Mutex<[Bool]>([])

    init(_ fake: FakeHTTPTransport) { self.fake = fake }

    var interruptStates: [Bool] { seen.withLock { $0 } }

    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        seen.withLock { $0.append(interrupt.isSet) }
        return try fake.send(request, interrupt: interrupt)
    }
}

/// Hands out `q1`, `q2`, ... so request URLs are exact.
private final class QueryIDs: Sendable {
    private let counter = Mutex(0)
    func next() -> String { counter.withLock { $0 += 1; return "q\($0)" } }
}

/// `ClickHouseHTTP` through `FakeHTTPTransport`: the exact requests, decoding, every error form,
/// and the kill that follows a Ctrl-C or a timeout.
final class ClickHouseHTTPTests: XCTestCase {
    private let base = "http://127.0.0.1:8123/"
    private let secret = "s3cr3t-Pass&x=1"

    private func client(
        _ fake: FakeHTTPTransport, password: String? = "s3cr3t-Pass&x=1", database: String? = "luminate",
        interrupt: Interrupt = Interrupt(), transport: (any HTTPTransport)? = nil
    ) -> ClickHouseHTTP {
        let ids = QueryIDs()
        let endpoint = ClickHouseEndpoint(url: "http://127.0.0.1:8123", user: "ops", password: password,
                                          passwordSource: "from file /run/ch", database: database, timeout: 30)
        return ClickHouseHTTP(endpoint: endpoint, transport: transport ?? fake, interrupt: interrupt, newQueryID: { ids.next() })
    }

    private func queryURL(_ id: String, json: Bool = true, timeout: Int = 30, database: Bool = true, extra: String = "") -> String {
        base + "?query_id=luminatectl-\(id)" + (database ? "&database=luminate" : "") + "&wait_end_of_query=1"
            + "&max_execution_time=\(timeout)" + (json ? "&output_format_json_quote_64bit_integers=0" : "") + extra
    }

    private static let killBody = """
        {"meta":[{"name":"kill_status","type":"String"},{"name":"query_id","type":"String"},{"name":"user","type":"String"},{"name":"query","type":"String"}],
         "data":[{"kill_status":"finished","query_id":"luminatectl-q1","user":"ops","query":"SELECT ..."}],"rows":1}
        """

    // MARK: - The request

    func testQueryRequestCarriesQueryIDWaitEndOfQueryAndCredentialsInHeaders() throws {
        let fake = FakeHTTPTransport()
        struct Row: Decodable, Equatable { var n: UInt64 }
        fake.expect("POST", queryURL("q1"), body: #"{"meta":[{"name":"n","type":"UInt64"}],"data":[{"n":1}],"rows":1}"#)
        XCTAssertEqual(try client(fake).query("SELECT 1 AS n;  ", as: Row.self), [Row(n: 1)])

        let request = try XCTUnwrap(fake.received.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.header("X-ClickHouse-User"), "ops")
        XCTAssertEqual(request.header("X-ClickHouse-Key"), secret)
        XCTAssertEqual(String(decoding: request.body ?? Data(), as: UTF8.self), "SELECT 1 AS n\nFORMAT JSON")
        XCTAssertEqual(request.timeout, 35)
        XCTAssertEqual(request.connectTimeout, 5)
        XCTAssertFalse(request.url.contains("s3cr3t"), "the password must never be in the URL")
        XCTAssertFalse(request.url.contains("password"))
        XCTAssertEqual(fake.pending, 0)
    }

    func testCallerQueryIDTimeoutSettingsAndDatabase() throws {
        let fake = FakeHTTPTransport()
        fake.expect("POST", base + "?query_id=luminatectl-backup-42&database=system&wait_end_of_query=1"
                    + "&insert_distributed_sync=1&max_execution_time=3&note=a%20b%2Bc%26d")
        try client(fake).execute("SYSTEM SYNC REPLICA luminate.events", options: .init(
            queryID: "backup-42", timeout: 2.5, database: "system", settings: ["insert_distributed_sync": "1", "note": "a b+c&d"]))
        XCTAssertEqual(fake.received.first?.timeout, 7.5)
        XCTAssertEqual(fake.received.first.map { String(decoding: $0.body!, as: UTF8.self) }, "SYSTEM SYNC REPLICA luminate.events")

        fake.expect("POST", base + "?query_id=luminatectl-already&wait_end_of_query=1&max_execution_time=30")
        _ = try client(fake, database: nil).raw("SELECT 1", options: .init(queryID: "luminatectl-already"))
        XCTAssertEqual(fake.pending, 0)
    }

    func testWithoutPasswordNoKeyHeaderIsSent() throws {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1", json: false))
        try client(fake, password: nil).execute("SELECT 1")
        XCTAssertNil(fake.received.first?.header("X-ClickHouse-Key"))
        XCTAssertEqual(fake.received.first?.header("X-ClickHouse-User"), "ops")
    }

    func testRefusesBadInputsBeforeSendingAnything() {
        let fake = FakeHTTPTransport()
        let http = client(fake)
        XCTAssertThrowsError(try http.execute("SELECT 1", options: .init(queryID: "x'; DROP")))
        XCTAssertThrowsError(try http.execute("SELECT 1", options: .init(database: "lumi-nate"))) { error in
            XCTAssertEqual(error as? SQLError, .invalidIdentifier("lumi-nate", rule: SQL.identifierRule))
        }
        XCTAssertThrowsError(try http.execute("SELECT 1", options: .init(settings: ["max memory": "1"])))
        for url in ["http://ops:pw@127.0.0.1:8123", "http://127.0.0.1:8123/?password=pw", "ftp://host", "not a url"] {
            let endpoint = ClickHouseEndpoint(url: url, user: "ops")
            XCTAssertThrowsError(try ClickHouseHTTP(endpoint: endpoint, transport: fake, interrupt: Interrupt()).execute("SELECT 1"), url) { error in
                XCTAssertTrue(error is ValidationError, "\(error)")
                XCTAssertFalse("\(error)".contains("pw"), "\(error)")
            }
        }
        let blanks = ClickHouseEndpoint(url: "http://127.0.0.1:8123", user: "ops", password: "trailing ")
        XCTAssertThrowsError(try ClickHouseHTTP(endpoint: blanks, transport: fake, interrupt: Interrupt()).execute("SELECT 1"))
        XCTAssertTrue(fake.received.isEmpty)
    }

    func testURLPathPrefixIsKept() throws {
        let fake = FakeHTTPTransport()
        fake.expect("GET", "https://proxy.example/clickhouse/ping", body: "Ok.\n")
        let endpoint = ClickHouseEndpoint(url: "https://proxy.example/clickhouse", user: "ops")
        try ClickHouseHTTP(endpoint: endpoint, transport: fake, interrupt: Interrupt()).ping()
        XCTAssertEqual(fake.pending, 0)
    }

    func testPlanAndEndpointNeverShowThePassword() throws {
        let fake = FakeHTTPTransport()
        let http = client(fake)
        let plan = try http.plan("SELECT 1", format: "JSON")
        XCTAssertEqual(plan.description, "POST \(queryURL("q1")) (user ops)\nSELECT 1\nFORMAT JSON")
        for text in [plan.description, http.endpoint.description, String(reflecting: http.endpoint), { var s = ""; dump(http.endpoint, to: &s); return s }()] {
            XCTAssertFalse(text.contains("s3cr3t"), text)
        }
    }

    // MARK: - Decoding

    func testDecodesJSONWithMetaRowsStatisticsAndBare64BitIntegers() throws {
        struct Row: Decodable, Equatable { var u: UInt64; var i: Int64; var s: String }
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1"), body: """
            {"meta":[{"name":"u","type":"UInt64"},{"name":"i","type":"Int64"},{"name":"s","type":"String"}],
             "data":[{"u":18446744073709551615,"i":-9223372036854775808,"s":"a\\"b"}],
             "rows":1,"rows_before_limit_at_least":1,
             "statistics":{"elapsed":0.000077847,"rows_read":1,"bytes_read":1}}
            """)
        let result = try client(fake).result("SELECT ...", as: Row.self)
        XCTAssertEqual(result.data, [Row(u: .max, i: .min, s: "a\"b")])
        XCTAssertEqual(result.meta.map(\.type), ["UInt64", "Int64", "String"])
        XCTAssertEqual(result.rows, 1)
        XCTAssertEqual(result.rowsBeforeLimitAtLeast, 1)
        XCTAssertEqual(result.statistics?.rowsRead, 1)
    }

    func testFlexibleIntegersAcceptQuotedAndBareNumbers() throws {
        // 18.16 quotes 64-bit integers unless told otherwise; a proxy or old config may too.
        struct Row: Decodable, Equatable { var u: FlexibleUInt64; var i: FlexibleInt64 }
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1"), body: """
            {"meta":[],"data":[{"u":"18446744073709551615","i":"-5"},{"u":7,"i":-9223372036854775808}],"rows":2,
             "statistics":{"elapsed":0.1,"rows_read":"2","bytes_read":16}}
            """)
        let result = try client(fake).result("SELECT ...", as: Row.self)
        XCTAssertEqual(result.data, [Row(u: FlexibleUInt64(.max), i: -5), Row(u: 7, i: FlexibleInt64(.min))])
        XCTAssertEqual(result.statistics?.rowsRead.value, 2)
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(FlexibleUInt64(.max)), as: UTF8.self), "18446744073709551615")
        XCTAssertThrowsError(try JSONDecoder().decode([FlexibleInt64].self, from: Data(#"["12x"]"#.utf8)))
    }

    func testDecodingErrorNamesTheField() {
        struct Row: Decodable { var n: UInt64 }
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1"), body: #"{"meta":[],"data":[{"n":1},{"n":"2"}],"rows":2}"#)
        XCTAssertThrowsError(try client(fake).query("SELECT n", as: Row.self)) { error in
            guard case .decoding(let host, let queryID, let detail)? = error as? ClickHouseError else { return XCTFail("\(error)") }
            XCTAssertEqual(host, "127.0.0.1:8123")
            XCTAssertEqual(queryID, "luminatectl-q1")
            XCTAssertTrue(detail.hasPrefix("data[1].n: expected UInt64"), detail)
        }
    }

    func testExceptionAppendedToA200IsAServerError() {
        struct Row: Decodable { var n: UInt64 }
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1"), body: "{\"meta\":[],\"data\":[{\"n\":1},\nCode: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded, e.what() = DB::Exception\n")
        XCTAssertThrowsError(try client(fake).query("SELECT n", as: Row.self)) { error in
            XCTAssertEqual(error as? ClickHouseError, .server(code: 241, name: "MEMORY_LIMIT_EXCEEDED", message: "Memory limit (for query) exceeded",
                                                              host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 200))
        }
    }

    // MARK: - Errors

    func testEveryErrorFormBecomesATypedError() {
        let cases: [(Int, String, [String: String], ClickHouseError)] = [
            (404, "Code: 60, e.displayText() = DB::Exception: Table luminate.nope doesn't exist., e.what() = DB::Exception\n", [:],
             .server(code: 60, name: "UNKNOWN_TABLE", message: "Table luminate.nope doesn't exist", host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 404)),
            (400, "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1: SELEC 1, e.what() = DB::Exception\n", [:],
             .server(code: 62, name: "SYNTAX_ERROR", message: "Syntax error: failed at position 1: SELEC 1", host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 400)),
            (401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user ops, e.what() = DB::Exception\n", [:],
             .authentication(user: "ops", host: "127.0.0.1:8123", code: 193, passwordSource: "from file /run/ch")),
            (401, "Code: 192, e.displayText() = DB::Exception: Unknown user ops, e.what() = DB::Exception\n", [:],
             .authentication(user: "ops", host: "127.0.0.1:8123", code: 192, passwordSource: "from file /run/ch")),
            (403, "Code: 516. DB::Exception: ops: Authentication failed. (AUTHENTICATION_FAILED) (version 23.8.2.7 (official build))\n",
             ["x-clickhouse-exception-code": "516"],
             .authentication(user: "ops", host: "127.0.0.1:8123", code: 516, passwordSource: "from file /run/ch")),
            (404, "Code: 60. DB::Exception: Table default.nope does not exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official build))\n",
             ["x-clickhouse-exception-code": "60"],
             .server(code: 60, name: "UNKNOWN_TABLE", message: "Table default.nope does not exist", host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 404)),
            (502, "<html>Bad Gateway</html>", [:],
             .unexpectedResponse(host: "127.0.0.1:8123", queryID: "luminatectl-q1", status: 502, detail: "<html>Bad Gateway</html>")),
        ]
        for (status, body, headers, expected) in cases {
            let fake = FakeHTTPTransport()
            fake.expect("POST", queryURL("q1", json: false), status: status, body: body, headers: headers)
            XCTAssertThrowsError(try client(fake).execute("SELECT ..."), body) { error in
                XCTAssertEqual(error as? ClickHouseError, expected)
            }
        }
    }

    func testTransportFailureIsUnreachableWithAHint() {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1", json: false)) { _ in
            throw HTTPTransportError.transport(host: "127.0.0.1:8123", curlCode: 7, message: "Couldn't connect to server")
        }
        XCTAssertThrowsError(try client(fake).execute("SELECT 1")) { error in
            XCTAssertEqual(error as? ClickHouseError, .unreachable(
                host: "127.0.0.1:8123", underlying: "Couldn't connect to server (curl error 7)",
                hint: "is ClickHouse running at http://127.0.0.1:8123? check --clickhouse-url / LUMINATECTL_CLICKHOUSE_URL"))
        }
    }

    // MARK: - Cancellation

    func testInterruptDuringAQueryKillsItWithAFreshInterrupt() throws {
        let fake = FakeHTTPTransport()
        let observing = InterruptObservingTransport(fake)
        let interrupt = Interrupt()
        fake.expect("POST", queryURL("q1")) { _ in
            interrupt.raise(SIGINT)
            throw HTTPTransportError.interrupted(host: "127.0.0.1:8123")
        }
        fake.expect("POST", queryURL("q2", timeout: 3)) { request in
            XCTAssertEqual(String(decoding: request.body!, as: UTF8.self), "KILL QUERY WHERE query_id = 'luminatectl-q1' SYNC\nFORMAT JSON")
            XCTAssertEqual(request.header("X-ClickHouse-Key"), "s3cr3t-Pass&x=1")
            return HTTPResponse(status: 200, body: Data(Self.killBody.utf8))
        }
        struct Row: Decodable { var n: Int }
        XCTAssertThrowsError(try client(fake, interrupt: interrupt, transport: observing).query("SELECT count() FROM numbers(10000000000)", as: Row.self)) { error in
            XCTAssertEqual(error as? ClickHouseError, .interrupted(host: "127.0.0.1:8123", queryID: "luminatectl-q1", killed: true))
            XCTAssertEqual((error as? ClickHouseError)?.exitCode, .interrupted)
        }
        XCTAssertEqual(observing.interruptStates, [false, false], "the query went out before Ctrl-C, the kill with a fresh interrupt")
        XCTAssertEqual(fake.pending, 0)
    }

    func testTimeoutKillsAndAFailedKillIsReported() {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1", json: false)) { _ in throw HTTPTransportError.timedOut(host: "127.0.0.1:8123", seconds: 35) }
        fake.expect("POST", queryURL("q2", timeout: 3)) { _ in throw HTTPTransportError.timedOut(host: "127.0.0.1:8123", seconds: 15) }
        XCTAssertThrowsError(try client(fake).execute("OPTIMIZE TABLE luminate.events FINAL")) { error in
            XCTAssertEqual(error as? ClickHouseError, .timedOut(host: "127.0.0.1:8123", queryID: "luminatectl-q1", seconds: 35, killed: false))
        }
        // The kill timed out too; it is not itself killed (no third request).
        XCTAssertEqual(fake.received.count, 2)
        XCTAssertEqual(fake.pending, 0)
    }

    func testAlreadyInterruptedSendsNothing() {
        let fake = FakeHTTPTransport()
        let interrupt = Interrupt()
        interrupt.raise(SIGINT)
        XCTAssertThrowsError(try client(fake, interrupt: interrupt).execute("SELECT 1")) { error in
            XCTAssertEqual(error as? ClickHouseError, .interrupted(host: "127.0.0.1:8123", queryID: "luminatectl-q1", killed: false))
        }
        XCTAssertTrue(fake.received.isEmpty)
    }

    func testKillReturnsWhatWasKilled() throws {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1", timeout: 10), body: Self.killBody)
        let http = client(fake)
        let killed = try http.kill(queryID: "luminatectl-q1")
        XCTAssertEqual(killed, [ClickHouseKilledQuery(killStatus: "finished", queryID: "luminatectl-q1", user: "ops")])
        // Nothing matched: 18.16 answers an empty body rather than an empty data array.
        fake.expect("POST", queryURL("q2", timeout: 10), body: "")
        XCTAssertEqual(try http.kill(queryID: "luminatectl-gone"), [])
    }

    // MARK: - Endpoints

    func testPingVersionAndReplicasStatus() throws {
        let fake = FakeHTTPTransport()
        fake.expect("GET", base + "ping", body: "Ok.\n")
        fake.expect("POST", queryURL("q1"), body: #"{"meta":[],"data":[{"version":"18.16.1"}],"rows":1}"#)
        fake.expect("GET", base + "replicas_status", body: "Ok.\n")
        fake.expect("GET", base + "replicas_status?verbose=1", status: 503,
                    body: "luminate.events_local:\tAbsolute delay: 412. Relative delay: 400.\nluminate.other:\tAbsolute delay: 0. Relative delay: 0.\n")
        fake.expect("GET", base + "ping", body: "Not ok")
        let http = client(fake)
        try http.ping()
        XCTAssertNil(fake.received[0].header("X-ClickHouse-Key"), "/ping needs no credentials")
        XCTAssertEqual(try http.version(), ClickHouseVersion(18, 16, 1))
        XCTAssertEqual(try http.replicasStatus(), ClickHouseReplicasStatus(healthy: true, delays: []))
        XCTAssertEqual(try http.replicasStatus(verbose: true), ClickHouseReplicasStatus(healthy: false, delays: [
            .init(table: "luminate.events_local", absoluteDelay: 412, relativeDelay: 400),
            .init(table: "luminate.other", absoluteDelay: 0, relativeDelay: 0),
        ]))
        XCTAssertThrowsError(try http.ping()) { error in
            XCTAssertEqual(error as? ClickHouseError, .unexpectedResponse(host: "127.0.0.1:8123", queryID: nil, status: 200, detail: #"/ping answered "Not ok""#))
        }
        XCTAssertEqual(fake.pending, 0)
    }

    func testReadonlyUserIsAskedOnceThenSentNoSettings() throws {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1"), status: 500,
                    body: "Code: 164, e.displayText() = DB::Exception: Cannot override setting (max_execution_time) in readonly mode, e.what() = DB::Exception\n")
        fake.expect("POST", base + "?query_id=luminatectl-q2&database=luminate&wait_end_of_query=1",
                    body: #"{"meta":[],"data":[{"c":"120000"}],"rows":1}"#)
        fake.expect("POST", base + "?query_id=luminatectl-q3&database=luminate&wait_end_of_query=1",
                    body: #"{"meta":[],"data":[{"c":"7"}],"rows":1}"#)
        struct Row: Decodable, Equatable { var c: FlexibleUInt64 }
        let http = client(fake)
        XCTAssertEqual(try http.query("SELECT count() AS c FROM t", as: Row.self), [Row(c: 120000)])
        XCTAssertEqual(try http.query("SELECT count() AS c FROM u", as: Row.self), [Row(c: 7)])
        XCTAssertEqual(fake.pending, 0)

        // Settings the caller asked for are not dropped: the refusal is the answer.
        let other = FakeHTTPTransport()
        other.expect("POST", queryURL("q1", json: false, extra: "&send_timeout=5"), status: 500,
                     body: "Code: 164, e.displayText() = DB::Exception: Cannot override setting (send_timeout) in readonly mode, e.what() = DB::Exception\n")
        XCTAssertThrowsError(try client(other).execute("SELECT 1", options: .init(settings: ["send_timeout": "5"]))) { error in
            XCTAssertEqual((error as? ClickHouseError)?.code, 164)
        }
    }

    func testFragmentsAreSentAsBuilt() throws {
        let fake = FakeHTTPTransport()
        fake.expect("POST", queryURL("q1", json: false)) { request in
            XCTAssertEqual(String(decoding: request.body!, as: UTF8.self), "ALTER TABLE `luminate`.`events` DROP PARTITION 20261126")
            return HTTPResponse(status: 200)
        }
        try client(fake).execute(try "ALTER TABLE \(table: "luminate", "events") DROP PARTITION \(20261126)" as SQLFragment)
    }
}
