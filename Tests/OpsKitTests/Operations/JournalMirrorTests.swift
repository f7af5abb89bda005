import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The ClickHouse mirror through a fake HTTP transport: the table it creates, the rows it
/// sends, a dead server (warned, local record kept), and `journal sync`.
final class JournalMirrorTests: JournalTestCase {
    static let url = "http://ch.test:8123"
    static let queryPrefix = "http://ch.test:8123/?query_id=luminatectl-"

    var path: String { directory + "/journal.jsonl" }

    func mirror(_ http: FakeHTTPTransport) -> JournalMirror {
        JournalMirror(client: ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: Self.url, user: "ops", password: "pw-mirror-1"),
                                             transport: http, interrupt: Interrupt()),
                      database: "luminate_ops", table: "journal")
    }

    func bodies(_ http: FakeHTTPTransport) -> [String] {
        http.received.map { String(decoding: $0.body ?? Data(), as: UTF8.self) }
    }

    func testTheTableIsAMergeTreeBy18_16Syntax() throws {
        XCTAssertEqual(try JournalMirror.createStatements(database: "luminate_ops", table: "journal").map(\.sql), [
            "CREATE DATABASE IF NOT EXISTS `luminate_ops`",
            """
            CREATE TABLE IF NOT EXISTS `luminate_ops`.`journal` (
                time DateTime('UTC'),
                id String,
                seq UInt64,
                operation String,
                event String,
                kind String,
                environment String,
                actor_user String,
                actor_host String,
                actor_ci Nullable(String),
                command_line String,
                targets Array(String),
                inputs String,
                step Nullable(String),
                evidence String,
                outcome Nullable(String),
                message Nullable(String),
                reason Nullable(String),
                duration_seconds Nullable(Float64),
                luminatectl String,
                prev String,
                hash String,
                record String
            ) ENGINE = MergeTree() PARTITION BY toYYYYMM(time) ORDER BY (time, id)
            """,
        ])
        XCTAssertThrowsError(try JournalMirror.createStatements(database: "ops; DROP", table: "journal"))
    }

    func testEachRecordIsInsertedAsJSONEachRowAfterTheTableIsCreatedOnce() throws {
        let http = FakeHTTPTransport()
        for _ in 0..<4 { http.expect("POST", urlPrefix: Self.queryPrefix) }
        let warnings = CapturedOutput()
        let journal = MirroredJournal(file: JournalFile(path: path), mirror: mirror(http), warn: warnings.console().warning)
        try journal.append(JournalFixtures.history[0])
        try journal.append(JournalFixtures.history[1])

        XCTAssertEqual(warnings.stderr, "")
        XCTAssertEqual(http.pending, 0)
        let sent = bodies(http)
        XCTAssertEqual(sent.count, 4)
        XCTAssertEqual(sent[0], "CREATE DATABASE IF NOT EXISTS `luminate_ops`")
        XCTAssertTrue(sent[1].hasPrefix("CREATE TABLE IF NOT EXISTS `luminate_ops`.`journal`"))
        let lines = try JournalFixtures.lines(path)
        let record = try JournalRecord.parse(lines[1])
        XCTAssertEqual(sent[3], "INSERT INTO `luminate_ops`.`journal` FORMAT JSONEachRow\n" + JournalMirror.row(record).rendered())
        XCTAssertEqual(http.received[3].header("X-ClickHouse-Key"), "pw-mirror-1", "the password travels in the header only")

        let row = try JSONValue.parse(Data(JournalMirror.row(record).rendered().utf8))
        XCTAssertEqual(row["time"], "2026-11-29 02:00:01")
        XCTAssertEqual(row["id"], "op-0000000000a-aaaaaaaaaa#2")
        XCTAssertEqual(row["seq"], 2)
        XCTAssertEqual(row["actor_ci"], .null)
        XCTAssertEqual(row["evidence"], "{\"parts\":12}")
        XCTAssertEqual(row["duration_seconds"], 1.5)
        XCTAssertEqual(row["record"]?.string, lines[1], "the line itself, so the mirror alone can be checked")
    }

    func testADeadMirrorWarnsNamingTheHostAndRecordAndKeepsTheLocalRecord() throws {
        let dead = DeadServer()
        let warnings = CapturedOutput()
        let client = ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: Self.url, user: "ops", password: "pw-mirror-1"),
                                    transport: dead, interrupt: Interrupt())
        let journal = MirroredJournal(file: JournalFile(path: path), mirror: JournalMirror(client: client, database: "luminate_ops", table: "journal"),
                                      warn: warnings.console().warning)
        try journal.append(JournalFixtures.history[0])
        try journal.append(JournalFixtures.history[1])

        XCTAssertEqual(try JournalFixtures.lines(path).count, 2, "both records are in the local file")
        XCTAssertEqual(dead.requests, 1, "after the first failure, this run stops trying")
        XCTAssertEqual(warnings.stderr, """
            Warning: journal record op-0000000000a-aaaaaaaaaa#1 was not mirrored to clickhouse ch.test:8123 (luminate_ops.journal): cannot reach clickhouse at ch.test:8123: Couldn't connect to server (curl error 7); it is kept in \(path), run 'luminatectl journal sync' when the server is back
            Warning: journal record op-0000000000a-aaaaaaaaaa#2 was not mirrored to clickhouse ch.test:8123 (luminate_ops.journal): the mirror failed earlier in this run (at record op-0000000000a-aaaaaaaaaa#1); it is kept in \(path)

            """)
        XCTAssertFalse(warnings.stderr.contains("pw-mirror-1"))
    }

    func testSyncSendsWhatIsMissingAndReportsRecordsThatDiffer() throws {
        let lines = try JournalFixtures.write(Array(JournalFixtures.history.prefix(3)), to: path)
        let records = try lines.map { try JournalRecord.parse($0) }
        let http = FakeHTTPTransport()
        http.expect("POST", urlPrefix: Self.queryPrefix)
        http.expect("POST", urlPrefix: Self.queryPrefix)
        http.expect("POST", urlPrefix: Self.queryPrefix, body: """
            {"meta":[{"name":"id","type":"String"},{"name":"hash","type":"String"}],
             "data":[{"id":"\(records[0].id)","hash":"\(records[0].hash)"},{"id":"\(records[2].id)","hash":"\(String(repeating: "f", count: 64))"}],
             "rows":2}
            """)
        http.expect("POST", urlPrefix: Self.queryPrefix)
        try """
            environments:
              staging:
                clickhouse: {url: "\(Self.url)", user: ops}
                journal: {path: journal.jsonl, mirror: {}}

            """.write(toFile: directory + "/luminatectl.yaml", atomically: true, encoding: .utf8)
        let output = CapturedOutput()
        let code = Luminatectl.run(["journal", "sync"], context: Context.fake(http: http, output: output, workingDirectory: directory))

        XCTAssertEqual(code, .failure)
        XCTAssertEqual(output.stdout, """
            Mirror clickhouse ch.test:8123 (luminate_ops.journal): 3 records in \(path), 2 already there, 1 sent.
              line 3 (\(records[2].id)): the mirror holds hash ffffffffffff..., the file \(records[2].hash.prefix(12))...

            """)
        XCTAssertEqual(output.stderr, """
            Error: the journal and its mirror clickhouse ch.test:8123 (luminate_ops.journal) disagree on 1 record
            hint: one of them was changed after the record was written: run 'luminatectl journal verify', and compare the mirror's record column with the file

            """)
        let sent = bodies(http)
        XCTAssertEqual(sent[2], "SELECT id, hash FROM `luminate_ops`.`journal` WHERE id IN ('\(records[0].id)', '\(records[1].id)', '\(records[2].id)')\nFORMAT JSON")
        XCTAssertEqual(sent[3], "INSERT INTO `luminate_ops`.`journal` FORMAT JSONEachRow\n" + JournalMirror.row(records[1]).rendered())
    }

    func testSyncWithoutAMirrorSaysHowToConfigureOne() throws {
        let output = CapturedOutput()
        let code = Luminatectl.run(["journal", "sync"], context: Context.fake(output: output, environment: ["LUMINATECTL_JOURNAL": path]))
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, """
            Error: no journal mirror is configured for environment 'default'
            hint: add 'journal: {mirror: {database: luminate_ops, table: journal}}' to the environment in the configuration file

            """)
    }
}

/// A server that is down: every request fails as curl does on a closed port.
private final class DeadServer: HTTPTransport {
    private let count = Mutex(0)

    var requests: Int { count.withLock { $0 } }

    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        count.withLock { $0 += 1 }
        throw HTTPTransportError.transport(host: "ch.test:8123", curlCode: 7, message: "Couldn't connect to server")
    }
}
