import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// What the fake saw of the private config file while the client "ran".
private struct ConfigObservation: Sendable {
    var fileMode: UInt32
    var directoryMode: UInt32
    var contents: String
}

/// Collects `ConfigObservation`s from inside the fake runner.
private final class Observations: Sendable {
    private let state = Mutex<[ConfigObservation]>([])
    var all: [ConfigObservation] { state.withLock { $0 } }
    func record(_ path: String) {
        var file = stat()
        var directory = stat()
        stat(path, &file)
        stat((path as NSString).deletingLastPathComponent, &directory)
        let contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable>"
        state.withLock { $0.append(ConfigObservation(fileMode: UInt32(file.st_mode) & 0o7777, directoryMode: UInt32(directory.st_mode) & 0o7777, contents: contents)) }
    }
}

/// Hands out `n1`, `n2`, ... so argv is exact.
private final class QueryIDCounter: Sendable {
    private let counter = Mutex(0)
    func next() -> String { counter.withLock { $0 += 1; return "n\($0)" } }
}

/// `ClickHouseNative` through `FakeProcessRunner`: argv without the password, the private config
/// file (0600 in a 0700 directory, removed on every path), and error mapping from stderr.
final class ClickHouseNativeTests: XCTestCase {
    private var temporaryDirectory = ""
    private let password = "we<i&r>d \"p'w"

    override func setUpWithError() throws {
        temporaryDirectory = NSTemporaryDirectory() + "luminatectl-native-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: temporaryDirectory)
    }

    private func native(_ runner: FakeProcessRunner, password: String? = "we<i&r>d \"p'w", interrupt: Interrupt = Interrupt()) -> ClickHouseNative {
        let ids = QueryIDCounter()
        let endpoint = ClickHouseNativeEndpoint(host: "127.0.0.1", port: 9000, user: "ops", password: password,
                                                passwordSource: "from env LUMINATECTL_CLICKHOUSE_PASSWORD", database: "luminate", timeout: 60)
        return ClickHouseNative(endpoint: endpoint, processes: runner, interrupt: interrupt,
                                temporaryDirectory: temporaryDirectory, newQueryID: { ids.next() })
    }

    private func configPath(_ id: String) -> String {
        ClickHouseNative.configPath(temporaryDirectory: temporaryDirectory, queryID: "luminatectl-\(id)")
    }

    private func argv(_ id: String, sql: String, format: String? = "JSON", timeout: Int = 60) -> [String] {
        var arguments = ["--config-file", configPath(id), "--host", "127.0.0.1", "--port", "9000", "--user", "ops",
                         "--database", "luminate", "--query_id", "luminatectl-\(id)", "--max_execution_time=\(timeout)"]
        if format == "JSON" { arguments.append("--output_format_json_quote_64bit_integers=0") }
        arguments += ["--query", sql]
        if let format { arguments += ["--format", format] }
        return arguments
    }

    private var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? ["<unlistable>"] }

    // MARK: - The command line and the config file

    func testQueryArgvHasNoPasswordAndConfigIsPrivateAndRemoved() throws {
        let runner = FakeProcessRunner()
        let seen = Observations()
        let path = configPath("n1")
        runner.expect("clickhouse-client", argv("n1", sql: "SELECT toUInt64(1) AS n")) { request in
            seen.record(path)
            XCTAssertFalse(request.arguments.joined(separator: " ").contains("p'w"))
            XCTAssertTrue(request.environment.isEmpty, "nothing secret in the environment either")
            return ProcessResult(status: .exited(0), stdout: Data(#"{"meta":[],"data":[{"n":1}],"rows":1}"#.utf8))
        }
        struct Row: Decodable, Equatable { var n: UInt64 }
        XCTAssertEqual(try native(runner).query("SELECT toUInt64(1) AS n;", as: Row.self), [Row(n: 1)])

        let observation = try XCTUnwrap(seen.all.first)
        XCTAssertEqual(observation.fileMode, 0o600)
        XCTAssertEqual(observation.directoryMode, 0o700)
        XCTAssertEqual(observation.contents, "<config><password>we&lt;i&amp;r&gt;d &quot;p&apos;w</password></config>\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(leftovers, [], "the private directory is removed too")
        for request in runner.received {
            XCTAssertFalse(request.commandLine.contains(password))
        }
    }

    func testConfigIsRemovedWhenTheQueryFails() {
        let runner = FakeProcessRunner()
        runner.expect("clickhouse-client", argv("n1", sql: "SELECT * FROM system.nope"), exit: 60,
                      stderr: "Received exception from server (version 18.16.1):\nCode: 60. DB::Exception: Received from 127.0.0.1:9000. DB::Exception: Table system.nope doesn't exist.. \n")
        XCTAssertThrowsError(try native(runner).query("SELECT * FROM system.nope", as: [String: String].self)) { error in
            XCTAssertEqual(error as? ClickHouseError, .server(code: 60, name: "UNKNOWN_TABLE", message: "Table system.nope doesn't exist",
                                                              host: "127.0.0.1:9000", queryID: "luminatectl-n1", status: nil))
        }
        XCTAssertEqual(leftovers, [])
    }

    func testWithoutPasswordTheConfigIsEmptyButStillUsed() throws {
        // Always passing --config-file keeps ~/.clickhouse-client/config.xml out of the picture.
        let runner = FakeProcessRunner()
        let seen = Observations()
        let path = configPath("n1")
        runner.expect("clickhouse-client", argv("n1", sql: "SYSTEM FLUSH LOGS", format: nil)) { _ in
            seen.record(path)
            return ProcessResult(status: .exited(0))
        }
        try native(runner, password: nil).execute("SYSTEM FLUSH LOGS")
        XCTAssertEqual(seen.all.first?.contents, "<config></config>\n")
    }

    func testPlanIsPrintableWithAPlaceholderAndNoSecret() throws {
        let plan = try native(FakeProcessRunner()).plan("SELECT 'x y'", format: "TabSeparated", options: .init(queryID: "dry", timeout: 5))
        XCTAssertEqual(plan.description, "clickhouse-client --config-file '<private temporary config holding the password>' "
                       + "--host 127.0.0.1 --port 9000 --user ops --database luminate --query_id luminatectl-dry --max_execution_time=5 "
                       + "--query 'SELECT '\\''x y'\\''' --format TabSeparated")
        XCTAssertEqual(plan.request.timeout, 10)
        XCTAssertFalse(plan.description.contains(password))
        XCTAssertFalse(String(reflecting: native(FakeProcessRunner()).endpoint).contains("p'w"))
    }

    func testRefusesAPasswordTheConfigCannotCarry() {
        let runner = FakeProcessRunner()
        XCTAssertThrowsError(try native(runner, password: "a\u{01}b").execute("SELECT 1")) { error in
            XCTAssertTrue(error is ValidationError)
            XCTAssertFalse("\(error)".contains("a\u{01}b"))
        }
        XCTAssertTrue(runner.received.isEmpty)
    }

    func testParsesNativeAddress() throws {
        XCTAssertTrue(try ClickHouseNativeEndpoint.parseAddress("127.0.0.1:9000") == ("127.0.0.1", 9000))
        for bad in ["127.0.0.1", ":9000", "host:0", "host:99999", "host:x"] {
            XCTAssertThrowsError(try ClickHouseNativeEndpoint.parseAddress(bad), bad)
        }
    }

    // MARK: - Failures

    func testErrorCodesAreMappedFromStderr() {
        let cases: [(Int32, String, ClickHouseError)] = [
            (193, "Code: 193. DB::Exception: Received from 127.0.0.1:9000. DB::Exception: Wrong password for user ops. \n",
             .authentication(user: "ops", host: "127.0.0.1:9000", code: 193, passwordSource: "from env LUMINATECTL_CLICKHOUSE_PASSWORD")),
            (4, "Code: 516. DB::Exception: Received from localhost:9000. DB::Exception: ops: Authentication failed. (AUTHENTICATION_FAILED)\n",
             .authentication(user: "ops", host: "127.0.0.1:9000", code: 516, passwordSource: "from env LUMINATECTL_CLICKHOUSE_PASSWORD")),
            (62, "Code: 62. DB::Exception: Syntax error: failed at position 1: SELEC 1. Expected one of: SELECT\n",
             .server(code: 62, name: "SYNTAX_ERROR", message: "Syntax error: failed at position 1: SELEC 1. Expected one of: SELECT",
                     host: "127.0.0.1:9000", queryID: "luminatectl-n1", status: nil)),
            (210, "Code: 210. DB::NetException: Connection refused (127.0.0.1:9000)\n",
             .unreachable(host: "127.0.0.1:9000", underlying: "Connection refused (127.0.0.1:9000)",
                          hint: ClickHouseError.unreachableNativeHint(host: "127.0.0.1:9000"))),
        ]
        for (exit, stderr, expected) in cases {
            let runner = FakeProcessRunner()
            runner.expect("clickhouse-client", argv("n1", sql: "SELECT 1", format: nil), exit: exit, stderr: stderr)
            XCTAssertThrowsError(try native(runner).execute("SELECT 1"), stderr) { error in
                XCTAssertEqual(error as? ClickHouseError, expected)
            }
        }
        XCTAssertEqual(leftovers, [])
    }

    func testMissingBinaryHasAnInstallHint() {
        let runner = FakeProcessRunner()
        runner.expect("clickhouse-client", argv("n1", sql: "SELECT 1", format: nil)) { request in
            throw ProcessError.notFound(program: request.executable, path: "/usr/bin:/bin")
        }
        XCTAssertThrowsError(try native(runner).execute("SELECT 1")) { error in
            XCTAssertEqual(error as? ClickHouseError, .clientMissing(program: "clickhouse-client"))
            XCTAssertEqual((error as? ClickHouseError)?.hint, "install clickhouse-client (apt-get install clickhouse-client) or put it on PATH")
        }
        XCTAssertEqual(leftovers, [])
    }

    func testInterruptKillsTheQueryFromASecondClient() {
        let runner = FakeProcessRunner()
        let interrupt = Interrupt()
        runner.expect("clickhouse-client", argv("n1", sql: "SELECT sleep(3)", format: nil)) { request in
            interrupt.raise(SIGINT)
            throw ProcessError.interrupted(commandLine: request.commandLine, signal: SIGINT)
        }
        runner.expect("clickhouse-client", argv("n2", sql: "KILL QUERY WHERE query_id = 'luminatectl-n1' SYNC", timeout: 10),
                      stdout: #"{"meta":[],"data":[{"kill_status":"finished","query_id":"luminatectl-n1","user":"ops"}],"rows":1}"#)
        XCTAssertThrowsError(try native(runner, interrupt: interrupt).execute("SELECT sleep(3)")) { error in
            XCTAssertEqual(error as? ClickHouseError, .interrupted(host: "127.0.0.1:9000", queryID: "luminatectl-n1", killed: true))
        }
        XCTAssertEqual(runner.pending, 0)
        XCTAssertEqual(leftovers, [])
    }

    func testInterruptAfterTheClientCancelledCountsAsKilled() {
        // SIGINT makes clickhouse-client cancel the query itself; the KILL then matches nothing
        // and 18.16's clickhouse-client prints nothing at all for it.
        let runner = FakeProcessRunner()
        let interrupt = Interrupt()
        runner.expect("clickhouse-client", argv("n1", sql: "SELECT 1", format: nil)) { request in
            interrupt.raise(SIGINT)
            throw ProcessError.interrupted(commandLine: request.commandLine, signal: SIGINT)
        }
        runner.expect("clickhouse-client", argv("n2", sql: "KILL QUERY WHERE query_id = 'luminatectl-n1' SYNC", timeout: 10), stdout: "")
        XCTAssertThrowsError(try native(runner, interrupt: interrupt).execute("SELECT 1")) { error in
            XCTAssertEqual(error as? ClickHouseError, .interrupted(host: "127.0.0.1:9000", queryID: "luminatectl-n1", killed: true))
        }
    }

    func testTimeoutIsReportedAndTheConfigRemoved() {
        let runner = FakeProcessRunner()
        runner.expect("clickhouse-client", argv("n1", sql: "OPTIMIZE TABLE t FINAL", format: nil)) { request in
            throw ProcessError.timedOut(commandLine: request.commandLine, seconds: 65, partial: ProcessResult(status: .signaled(15)))
        }
        runner.expect("clickhouse-client", argv("n2", sql: "KILL QUERY WHERE query_id = 'luminatectl-n1' SYNC", timeout: 10), exit: 210,
                      stderr: "Code: 210. DB::NetException: Connection refused (127.0.0.1:9000)\n")
        XCTAssertThrowsError(try native(runner).execute("OPTIMIZE TABLE t FINAL")) { error in
            XCTAssertEqual(error as? ClickHouseError, .timedOut(host: "127.0.0.1:9000", queryID: "luminatectl-n1", seconds: 65, killed: false))
        }
        XCTAssertEqual(leftovers, [])
    }

    func testAnExistingConfigDirectoryIsNeverReused() throws {
        let runner = FakeProcessRunner()
        let planted = (configPath("n1") as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: planted, withIntermediateDirectories: false)
        XCTAssertThrowsError(try native(runner).execute("SELECT 1")) { error in
            guard case .localFile(let path, let reason)? = error as? ClickHouseError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, planted)
            XCTAssertEqual(reason, "File exists")
        }
        XCTAssertTrue(runner.received.isEmpty)
        XCTAssertTrue(FileManager.default.fileExists(atPath: planted), "someone else's directory is left alone")
    }
}
