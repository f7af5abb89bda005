import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The journal mirror against the sandbox's ClickHouse 18.16: a test-only mutating command runs
/// through `Luminatectl.run` with the live journal (file + mirror) and a fake lock; its records
/// land in the file and in the table, a dead mirror costs only a warning, and `journal sync`
/// fills the table in afterwards. Each test uses its own database, dropped at the end.
final class JournalMirrorIntegrationTests: XCTestCase {
    /// A plan of two steps that records evidence.
    struct Plan: OperationPlan {
        var spec: OperationSpec { OperationSpec(kind: "it-test", targets: ["thing/one"], inputs: ["size": 3]) }
        func describe() -> String { "  one\n  two\n" }
        func describeJSON() -> JSONValue { ["one", "two"] }
        func execute(in session: OperationSession) throws -> ExitCode {
            for step in ["one", "two"] {
                try session.step(step) { session.record("step", .string(step)) }
            }
            return .success
        }
    }

    var directory = ""
    var database = ""
    var url = ""
    var clickhouse: ClickHouseHTTP!

    override func setUpWithError() throws {
        let environment = try Sandbox.require(["LUMINATECTL_CLICKHOUSE_URL", "LUMINATECTL_CLICKHOUSE_USER", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"])
        url = environment["LUMINATECTL_CLICKHOUSE_URL"]!
        let password = try Sandbox.password(fromFile: environment["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]!)
        Redactor.register(secret: password)
        clickhouse = ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: url, user: environment["LUMINATECTL_CLICKHOUSE_USER"]!, password: password),
                                    transport: CurlTransport(), interrupt: Interrupt())
        database = "journal_it_" + UUID().uuidString.prefix(8).lowercased()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-journal-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
            environments:
              local:
                journal:
                  path: \(directory)/journal.jsonl
                  mirror: {database: \(database), table: journal}

            """.write(toFile: directory + "/luminatectl.yaml", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        if !database.isEmpty { try? clickhouse?.execute("DROP DATABASE IF EXISTS \(identifier: database)" as SQLFragment) }
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    var journalPath: String { directory + "/journal.jsonl" }

    /// Runs `argv` as the CLI would, with the live journal and a fake lock.
    func run(_ argv: [String], clickhouseURL: String? = nil, lock: FakeLock = FakeLock()) -> (ExitCode, CapturedOutput) {
        var environment = ProcessInfo.processInfo.environment
        environment["LUMINATECTL_CONFIG"] = directory + "/luminatectl.yaml"
        environment["LUMINATECTL_ENV"] = "local"
        environment["LUMINATECTL_JOURNAL"] = nil
        if let clickhouseURL { environment["LUMINATECTL_CLICKHOUSE_URL"] = clickhouseURL }
        let output = CapturedOutput()
        var context = Context(
            processes: FakeProcessRunner(), http: CurlTransport(), clock: ManualClock("2026-11-29T02:00:00Z"),
            console: output.console(), environment: environment, workingDirectory: directory)
        context.makeOperations = { configuration, context in
            OperationServices(journal: try LiveOperations.journal(configuration: configuration, context: context), lock: lock)
        }
        let root = Command("luminatectl", abstract: "test", subcommands: [
            Command("mutate", abstract: "Change a thing.", plan: { _, _, _ in Plan() }),
            JournalCommands.group,
        ])
        return (Luminatectl.run(argv, context: context, root: root), output)
    }

    struct Row: Decodable, Equatable {
        var id: String
        var seq: UInt64
        var event: String
        var kind: String
        var environment: String
        var unix: UInt64
        var hash: String
        var record: String
    }

    func mirrored() throws -> [Row] {
        try clickhouse.query(
            "SELECT id, seq, event, kind, environment, toUnixTimestamp(time) AS unix, hash, record FROM \(table: database, "journal") ORDER BY seq" as SQLFragment,
            as: Row.self)
    }

    func testRecordsOfARealRunAppearInTheTable() throws {
        let lock = FakeLock()
        let (code, output) = run(["mutate", "--reason", "integration"], lock: lock)
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stderr, "", "no mirror warnings")
        XCTAssertFalse(lock.isHeld)

        let lines = try String(contentsOfFile: journalPath, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        let rows = try mirrored()
        XCTAssertEqual(rows.map(\.record), lines, "the table holds the lines as written")
        XCTAssertEqual(rows.map(\.event), ["started", "step", "step", "finished"])
        XCTAssertEqual(rows.map(\.seq), [1, 2, 3, 4])
        XCTAssertEqual(Set(rows.map(\.kind)), ["it-test"])
        XCTAssertEqual(Set(rows.map(\.environment)), ["local"])
        XCTAssertEqual(rows.first?.unix, 1_795_917_600, "2026-11-29T02:00:00Z in a DateTime('UTC') column")
        for row in rows {
            XCTAssertEqual(JournalRecord.expectedHash(of: row.record), row.hash, "the mirror alone proves \(row.id)")
        }

        let (verify, verified) = run(["journal", "verify"])
        XCTAssertEqual(verify, .success, verified.stdout + verified.stderr)
        let (sync, synced) = run(["journal", "sync"])
        XCTAssertEqual(sync, .success, synced.stderr)
        XCTAssertEqual(synced.stdout, "Mirror clickhouse \(hostOf(url: url)) (\(database).journal): 4 records in \(journalPath), 4 already there, 0 sent.\n")

        // A second operation appends to the same table (created once, not again).
        XCTAssertEqual(run(["mutate"]).0, .success)
        XCTAssertEqual(try mirrored().count, 8)
    }

    func testADeadMirrorWarnsTheOperationSucceedsAndSyncCatchesUp() throws {
        let (code, output) = run(["mutate"], clickhouseURL: "http://127.0.0.1:1")
        XCTAssertEqual(code, .success, "a mirror failure never fails the operation: \(output.stderr)")
        let lines = try String(contentsOfFile: journalPath, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, "every record is in the local file")
        let ids = try lines.map { try JournalRecord.parse($0).id }
        let warnings = output.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(warnings.count, 4, output.stderr)
        XCTAssertTrue(warnings[0].hasPrefix("Warning: journal record \(ids[0]) was not mirrored to clickhouse 127.0.0.1:1 (\(database).journal): cannot reach clickhouse at 127.0.0.1:1:"), warnings[0])
        XCTAssertTrue(warnings[0].hasSuffix("it is kept in \(journalPath), run 'luminatectl journal sync' when the server is back"), warnings[0])
        for (warning, id) in zip(warnings.dropFirst(), ids.dropFirst()) {
            XCTAssertTrue(warning.hasPrefix("Warning: journal record \(id) was not mirrored to clickhouse 127.0.0.1:1"), warning)
        }
        let (verify, verified) = run(["journal", "verify"])
        XCTAssertEqual(verify, .success, verified.stdout)

        let (sync, synced) = run(["journal", "sync"])
        XCTAssertEqual(sync, .success, synced.stderr)
        XCTAssertEqual(synced.stdout, "Mirror clickhouse \(hostOf(url: url)) (\(database).journal): 4 records in \(journalPath), 0 already there, 4 sent.\n")
        XCTAssertEqual(try mirrored().map(\.record), lines)
    }

    func testSyncFindsARecordTheMirrorHoldsDifferently() throws {
        XCTAssertEqual(run(["mutate"]).0, .success)
        let lines = try String(contentsOfFile: journalPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let second = try JournalRecord.parse(lines[1])
        // The mirror's copy of one record is changed (a mutation: asynchronous on 18.16, which
        // has no mutations_sync, hence the wait).
        try clickhouse.execute("ALTER TABLE \(table: database, "journal") UPDATE hash = 'forged' WHERE id = \(literal: second.id)" as SQLFragment)
        let deadline = Date().addingTimeInterval(10)
        var forged = false
        while Date() < deadline, !forged {
            forged = try mirrored().contains { $0.hash == "forged" }
            if !forged { usleep(100_000) }
        }
        XCTAssertTrue(forged, "the mutation did not apply")
        let (sync, synced) = run(["journal", "sync"])
        XCTAssertEqual(sync, .failure)
        XCTAssertTrue(synced.stdout.contains("line 2 (\(second.id)): the mirror holds hash forged..., the file \(second.hash.prefix(12))..."), synced.stdout)
        XCTAssertTrue(synced.stderr.hasPrefix("Error: the journal and its mirror clickhouse \(hostOf(url: url)) (\(database).journal) disagree on 1 record"), synced.stderr)
    }
}
