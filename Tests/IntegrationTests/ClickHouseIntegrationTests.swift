import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The sandbox's ClickHouse as `scripts/sandbox env` describes it. Missing variables fail the
/// tests: an integration test that passes without a server proves nothing.
private struct ClickHouseSandbox: Sendable {
    var url: String
    var user: String
    var password: String
    var passwordFile: String
    var nativeHost: String
    var nativePort: Int
    var cluster: String
    var nodeTCPPorts: [Int]
    var rowsOnFirstShard: Int
    var readerPasswordFile: String?

    /// The sandbox is not up (or not in this shell's environment).
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func load() throws -> ClickHouseSandbox {
        let environment = ProcessInfo.processInfo.environment
        func required(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else {
                throw Missing(description: Sandbox.missingMessage(name))
            }
            return value
        }
        let passwordFile = try required("LUMINATECTL_CLICKHOUSE_PASSWORD_FILE")
        let password = try Sandbox.password(fromFile: passwordFile)
        let native = try ClickHouseNativeEndpoint.parseAddress(try required("LUMINATECTL_CLICKHOUSE_NATIVE"))
        let jsonPath = try required("LUMINATECTL_SANDBOX_JSON")
        guard let data = FileManager.default.contents(atPath: jsonPath),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let clickhouse = json["clickhouse"] as? [String: Any], let nodes = clickhouse["nodes"] as? [[String: Any]],
              let seed = json["seed"] as? [String: Any], let perShard = seed["rows_per_shard"] as? [String: Any],
              let firstShard = perShard["1"] as? Int
        else { throw Missing(description: "\(jsonPath) is not a sandbox.json with clickhouse nodes and seed facts") }
        let users = clickhouse["users"] as? [String: Any]
        let reader = users?["reader"] as? [String: Any]
        Redactor.register(secret: password)
        return ClickHouseSandbox(
            url: try required("LUMINATECTL_CLICKHOUSE_URL"), user: try required("LUMINATECTL_CLICKHOUSE_USER"),
            password: password, passwordFile: passwordFile, nativeHost: native.host, nativePort: native.port,
            cluster: try required("LUMINATECTL_CLICKHOUSE_CLUSTER"), nodeTCPPorts: nodes.compactMap { $0["tcp_port"] as? Int },
            rowsOnFirstShard: firstShard, readerPasswordFile: reader?["password_file"] as? String)
    }
}

/// A value handed from a background thread to the test.
private final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<Result<T, any Error>?>(nil)
    func set(_ result: Result<T, any Error>) { state.withLock { $0 = result } }
    var result: Result<T, any Error>? { state.withLock { $0 } }
}

/// `ClickHouseHTTP` over `CurlTransport` and `ClickHouseNative` over `PosixProcessRunner`
/// against the sandbox's 4-node ClickHouse 18.16 cluster (`scripts/sandbox up`).
final class ClickHouseIntegrationTests: XCTestCase {
    private var sandbox: ClickHouseSandbox!

    override func setUpWithError() throws {
        sandbox = try ClickHouseSandbox.load()
    }

    private func http(user: String? = nil, password: String? = nil, interrupt: Interrupt = Interrupt()) -> ClickHouseHTTP {
        ClickHouseHTTP(
            endpoint: ClickHouseEndpoint(url: sandbox.url, user: user ?? sandbox.user, password: password ?? sandbox.password,
                                         passwordSource: "from file \(sandbox.passwordFile)"),
            transport: CurlTransport(), interrupt: interrupt)
    }

    private func native(user: String? = nil, password: String? = nil, interrupt: Interrupt = Interrupt()) -> ClickHouseNative {
        ClickHouseNative(
            endpoint: ClickHouseNativeEndpoint(host: sandbox.nativeHost, port: sandbox.nativePort, user: user ?? sandbox.user,
                                               password: password ?? sandbox.password, passwordSource: "from file \(sandbox.passwordFile)"),
            processes: PosixProcessRunner(), interrupt: interrupt)
    }

    private func assertError(_ expression: @autoclosure () throws -> Any, _ check: (ClickHouseError) -> Void,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? ClickHouseError else { return XCTFail("not a ClickHouseError: \(error)", file: file, line: line) }
            XCTAssertFalse(error.description.contains(sandbox.password), "the password leaked into an error", file: file, line: line)
            check(error)
        }
    }

    /// The HTTP status as well as the parsed error, straight off the wire.
    private func status(of sql: String, client: ClickHouseHTTP) throws -> (Int, ClickHouseError) {
        let plan = try client.plan(sql, format: nil)
        let response = try CurlTransport().send(plan.request, interrupt: Interrupt())
        return (response.status, ClickHouseError.fromHTTP(status: response.status, headers: response.headers, body: response.text,
                                                           host: client.host, queryID: plan.queryID, user: client.endpoint.user,
                                                           passwordSource: nil))
    }

    private func running(_ queryID: String) throws -> Bool {
        struct Row: Decodable { var query_id: String }
        return try !http().query("SELECT query_id FROM system.processes WHERE query_id = \(literal: queryID)" as SQLFragment, as: Row.self).isEmpty
    }

    private func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return false
    }

    // MARK: - HTTP

    func testAuthenticatedQueryAndPing() throws {
        struct Row: Decodable, Equatable { var one: UInt8; var db: String }
        XCTAssertEqual(try http().query("SELECT 1 AS one, currentDatabase() AS db", as: Row.self), [Row(one: 1, db: "default")])
        try http().ping()
    }

    func testWrongPasswordIs401Code193() throws {
        let client = http(password: "not-the-password")
        let (status, error) = try status(of: "SELECT 1", client: client)
        XCTAssertEqual(status, 401)
        XCTAssertEqual(error, .authentication(user: sandbox.user, host: client.host, code: 193, passwordSource: nil))
        assertError(try client.execute("SELECT 1")) { error in
            XCTAssertEqual(error.code, 193)
            XCTAssertEqual(error.hint, "check the password for ops (from file \(self.sandbox.passwordFile))")
        }
    }

    func testUnknownUserIsCode192() throws {
        let client = http(user: "nobody_\(UInt32.random(in: 0...UInt32.max))")
        let (status, error) = try status(of: "SELECT 1", client: client)
        XCTAssertEqual(status, 401)
        XCTAssertEqual(error.code, 192)
        assertError(try client.execute("SELECT 1")) { XCTAssertEqual($0.code, 192) }
    }

    func testSyntaxErrorIs400Code62() throws {
        let (status, _) = try status(of: "SELEC 1", client: http())
        XCTAssertEqual(status, 400)
        assertError(try http().execute("SELEC 1", options: .init(queryID: "it-syntax-\(UUID().uuidString)"))) { error in
            guard case .server(let code, let name, let message, let host, let queryID, let status) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 62)
            XCTAssertEqual(name, "SYNTAX_ERROR")
            XCTAssertTrue(message.hasPrefix("Syntax error: failed at position 1"), message)
            XCTAssertEqual(host, hostOf(url: self.sandbox.url))
            XCTAssertTrue(queryID?.hasPrefix("luminatectl-it-syntax-") == true)
            XCTAssertEqual(status, 400)
        }
    }

    func testUnknownTableIs404Code60() throws {
        let (status, _) = try status(of: "SELECT * FROM luminate.nope", client: http())
        XCTAssertEqual(status, 404)
        assertError(try http().execute("SELECT * FROM luminate.nope")) { error in
            guard case .server(60, "UNKNOWN_TABLE", let message, _, _, 404) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(message, "Table luminate.nope doesn't exist")
        }
    }

    func testServerSideTimeoutIsCode159() {
        assertError(try http().execute("SELECT count() FROM system.numbers WHERE number % 1000000007 = 5", options: .init(timeout: 1))) { error in
            XCTAssertEqual(error.code, 159)
            XCTAssertNotNil(error.hint)
        }
    }

    func testJSONWith64BitIntegersQuotedOrNot() throws {
        struct Row: Decodable, Equatable { var u: UInt64; var i: Int64; var c: UInt64 }
        let sql = "SELECT toUInt64(18446744073709551615) AS u, toInt64(-9223372036854775808) AS i, count() AS c FROM luminate.metrics_local"
        let result = try http().result(sql, as: Row.self)
        XCTAssertEqual(result.data, [Row(u: .max, i: .min, c: UInt64(sandbox.rowsOnFirstShard))])
        XCTAssertEqual(result.meta.map(\.type), ["UInt64", "Int64", "UInt64"])
        XCTAssertEqual(result.rows, 1)
        XCTAssertNotNil(result.statistics)

        // 18.16's default quotes them; FlexibleInteger takes either, a plain UInt64 field cannot.
        struct Flexible: Decodable, Equatable { var u: FlexibleUInt64; var i: FlexibleInt64; var c: FlexibleUInt64 }
        let quoted = ClickHouseQueryOptions(settings: ["output_format_json_quote_64bit_integers": "1"])
        XCTAssertEqual(try http().query(sql, as: Flexible.self, options: quoted),
                       [Flexible(u: FlexibleUInt64(.max), i: FlexibleInt64(.min), c: FlexibleUInt64(UInt64(sandbox.rowsOnFirstShard)))])
        assertError(try http().query(sql, as: Row.self, options: quoted)) { error in
            guard case .decoding(_, _, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.hasPrefix("data[0].u"), detail)
        }
    }

    func testVersionIs1816WithItsGates() throws {
        let version = try http().version()
        XCTAssertEqual(version, ClickHouseVersion(18, 16, 1))
        XCTAssertFalse(version.supportsTTL || version.supportsBackupRestore || version.supportsExceptionCodeHeader)
        XCTAssertFalse(version.supportsSystemBackups || version.supportsSystemDisks || version.supportsSystemDetachedParts)
        // What the gates keep luminatectl from asking: these tables are not there (code 60).
        for table in ["system.backups", "system.disks", "system.detached_parts"] {
            assertError(try http().execute("SELECT count() FROM \(table)")) { XCTAssertEqual($0.code, 60, table) }
        }
    }

    func testClusterHasFourHosts() throws {
        struct Host: Decodable { var host_name: String; var port: UInt16; var shard_num: UInt32; var replica_num: UInt32 }
        let hosts = try http().query(
            "SELECT host_name, port, shard_num, replica_num FROM system.clusters WHERE cluster = \(literal: sandbox.cluster) ORDER BY shard_num, replica_num" as SQLFragment,
            as: Host.self)
        XCTAssertEqual(hosts.count, 4)
        XCTAssertEqual(hosts.map { "\($0.shard_num).\($0.replica_num)" }, ["1.1", "1.2", "2.1", "2.2"])
        XCTAssertEqual(Set(hosts.map { Int($0.port) }), Set(sandbox.nodeTCPPorts))
    }

    func testReplicasStatus() throws {
        let status = try http().replicasStatus(verbose: true)
        XCTAssertTrue(status.healthy)
        XCTAssertEqual(status.delays.map(\.table), ["luminate.metrics_local"])
    }

    func testLargeStreamedResult() throws {
        struct Row: Decodable { var number: UInt64 }
        let result = try http().result("SELECT number FROM system.numbers LIMIT 2000000", as: Row.self,
                                       options: .init(timeout: 120))
        XCTAssertEqual(result.rows, 2_000_000)
        XCTAssertEqual(result.data.count, 2_000_000)
        XCTAssertEqual(result.data.first?.number, 0)
        XCTAssertEqual(result.data.last?.number, 1_999_999)
        XCTAssertEqual(result.data.reduce(0) { $0 &+ $1.number }, 1_999_999 * 2_000_000 / 2)
    }

    func testStringLiteralsRoundTripThroughTheServer() throws {
        var random = ClickHouseIntegrationRandom(seed: 0xC11C)
        let values = (0..<300).map { _ in random.string() } + ["", "'", "\\", "\\'", "\0", "\u{7F}", "日本🙂", "e\u{301}"]
        struct Row: Decodable { var a: [String] }
        let rows = try http().query("SELECT [\(list: values.map(SQL.string))] AS a" as SQLFragment, as: Row.self)
        XCTAssertEqual(rows.first?.a, values)
    }

    func testReadonlyUserWorksWithoutSettingsAndCannotWrite() throws {
        let file = try XCTUnwrap(sandbox.readerPasswordFile, "sandbox.json has no reader user")
        let password = String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: file)), as: UTF8.self)
        let reader = http(user: "reader", password: password)
        struct Row: Decodable { var c: FlexibleUInt64 }
        XCTAssertEqual(try reader.query("SELECT count() AS c FROM luminate.metrics_local", as: Row.self).first?.c.value,
                       UInt64(sandbox.rowsOnFirstShard))
        // The first query found out; later ones do not ask again.
        XCTAssertEqual(try reader.version(), ClickHouseVersion(18, 16, 1))
        assertError(try reader.execute("INSERT INTO luminate.metrics_local VALUES (now(), 'x', 'y', '{}', 1)")) { error in
            XCTAssertEqual(error.code, 164)
        }
    }

    func testInterruptKillsTheRunningQuery() throws {
        let interrupt = Interrupt()
        let client = http(interrupt: interrupt)
        let queryID = "luminatectl-it-cancel-\(UUID().uuidString)"
        let outcome = Outcome<Int>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            struct Row: Decodable { var c: FlexibleUInt64 }
            outcome.set(Result { try client.query("SELECT count() AS c FROM system.numbers WHERE number % 1000000007 = 5",
                                                  as: Row.self, options: .init(queryID: queryID, timeout: 60)).count })
            done.signal()
        }
        XCTAssertTrue(try waitUntil(10) { try running(queryID) }, "the query never showed up in system.processes")
        usleep(300_000)
        interrupt.raise(SIGINT)
        XCTAssertEqual(done.wait(timeout: .now() + 15), .success, "the interrupted query did not return")
        guard case .failure(let error)? = outcome.result else { return XCTFail("the query did not fail: \(String(describing: outcome.result))") }
        XCTAssertEqual(error as? ClickHouseError, .interrupted(host: client.host, queryID: queryID, killed: true))
        XCTAssertFalse(try running(queryID), "the query is still in system.processes after the kill")
    }

    // MARK: - clickhouse-client

    func testNativeQueryAndErrorCodes() throws {
        struct Row: Decodable, Equatable { var c: UInt64; var v: String }
        XCTAssertEqual(try native().query("SELECT count() AS c, version() AS v FROM luminate.metrics_local", as: Row.self),
                       [Row(c: UInt64(sandbox.rowsOnFirstShard), v: "18.16.1")])
        XCTAssertEqual(try native().raw("SELECT 1, 'a\\tb'"), "1\ta\\tb\n")

        assertError(try native().execute("SELECT * FROM luminate.nope")) { error in
            XCTAssertEqual(error, .server(code: 60, name: "UNKNOWN_TABLE", message: "Table luminate.nope doesn't exist",
                                          host: "\(self.sandbox.nativeHost):\(self.sandbox.nativePort)", queryID: self.lastQueryID(error), status: nil))
        }
        assertError(try native().execute("SELEC 1")) { XCTAssertEqual($0.code, 62) }
        assertError(try native(password: "not-the-password").execute("SELECT 1")) { error in
            XCTAssertEqual(error, .authentication(user: "ops", host: "\(self.sandbox.nativeHost):\(self.sandbox.nativePort)", code: 193,
                                                  passwordSource: "from file \(self.sandbox.passwordFile)"))
        }
        assertError(try native(user: "nobody").execute("SELECT 1")) { XCTAssertEqual($0.code, 192) }
        let closed = ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: "127.0.0.1", port: 1, user: "ops"),
                                      processes: PosixProcessRunner(), interrupt: Interrupt())
        assertError(try closed.execute("SELECT 1")) { error in
            guard case .unreachable(let host, _, let hint) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(host, "127.0.0.1:1")
            XCTAssertTrue(hint.contains("LUMINATECTL_CLICKHOUSE_NATIVE"))
        }
        let missing = ClickHouseNative(endpoint: ClickHouseNativeEndpoint(host: "127.0.0.1", executable: "clickhouse-client-not-installed"),
                                       processes: PosixProcessRunner(), interrupt: Interrupt())
        assertError(try missing.execute("SELECT 1")) { XCTAssertEqual($0, .clientMissing(program: "clickhouse-client-not-installed")) }
    }

    private func lastQueryID(_ error: ClickHouseError) -> String? {
        if case .server(_, _, _, _, let queryID, _) = error { return queryID }
        return nil
    }

    func testNativePasswordIsNotInArgvAndTheConfigIsRemoved() throws {
        let interrupt = Interrupt()
        let client = native(interrupt: interrupt)
        let tag = "argv-check-\(UUID().uuidString)"
        let queryID = "luminatectl-it-\(tag)"
        let outcome = Outcome<Bool>()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome.set(Result {
                try client.execute("SELECT count() FROM system.numbers WHERE number % 1000000007 = 5 AND \(literal: tag) != ''" as SQLFragment,
                                   options: .init(queryID: queryID, timeout: 30))
                return true
            })
            done.signal()
        }

        var found: (pid: Int32, argv: [String])?
        _ = waitUntil(10) {
            found = Self.clientProcess(containing: tag)
            return found != nil
        }
        let (pid, argv) = try XCTUnwrap(found, "no clickhouse-client process with the query text was found in /proc")
        XCTAssertFalse(argv.joined(separator: " ").contains(sandbox.password), "the password is visible in /proc/\(pid)/cmdline")
        let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ").map { String(decoding: $0, as: UTF8.self) } ?? ""
        XCTAssertFalse(environ.contains(sandbox.password), "the password is visible in /proc/\(pid)/environ")
        let configIndex = try XCTUnwrap(argv.firstIndex(of: "--config-file"))
        let configPath = argv[configIndex + 1]
        var info = stat()
        XCTAssertEqual(stat(configPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat((configPath as NSString).deletingLastPathComponent, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)

        XCTAssertTrue(try waitUntil(10) { try running(queryID) }, "the native query never showed up in system.processes")
        interrupt.raise(SIGINT)
        XCTAssertEqual(done.wait(timeout: .now() + 15), .success, "the interrupted client did not return")
        guard case .failure(let error)? = outcome.result else { return XCTFail("the query did not fail") }
        XCTAssertEqual(error as? ClickHouseError, .interrupted(host: "\(sandbox.nativeHost):\(sandbox.nativePort)", queryID: queryID, killed: true))
        XCTAssertFalse(FileManager.default.fileExists(atPath: configPath), "the config file was left behind")
        XCTAssertFalse(FileManager.default.fileExists(atPath: (configPath as NSString).deletingLastPathComponent))
        XCTAssertFalse(try running(queryID), "the native query is still running")
    }

    /// The pid and argv of a `clickhouse-client` whose command line contains `text`.
    private static func clientProcess(containing text: String) -> (pid: Int32, argv: [String])? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let program = argv.first, program.hasSuffix("clickhouse-client") || program.hasSuffix("clickhouse"),
                  argv.contains(where: { $0.contains(text) })
            else { continue }
            return (pid, argv)
        }
        return nil
    }
}

/// Random strings for the literal round trip (the shared SplitMix64, fixed seed).
private struct ClickHouseIntegrationRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func string() -> String {
        let pieces = ["'", "\\", "\"", "`", "\n", "\r", "\t", "\0", "\u{01}", "\u{1B}", "\u{7F}", " ", "a", "Z", "é", "日本", "🙂", "e\u{301}", "\\x41", "''"]
        return (0..<Int(next() % 12)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
    }
}
