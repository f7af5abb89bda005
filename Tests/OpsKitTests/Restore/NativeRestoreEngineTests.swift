import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The native restore engine against recorded answers of ClickHouse 26.9 (`RESTORE ... ASYNC`,
/// `system.backups`, `KILL QUERY`); the fakes fail on any request not scripted. The real server
/// runs it in NativeRestoreIntegrationTests.
final class NativeRestoreEngineTests: XCTestCase {
    private static let restoreID = "f834be20-88e1-4b7b-8012-92a8875e7a56"
    private static let restoreQueryID = "0d7d3317-edfd-4365-b4c4-08ef9dbd15d1"
    private static let statement = "RESTORE TABLE `luminate`.`metrics` AS `luminate_restore`.`metrics_stage` PARTITIONS ID '20261126', ID '20261127' "
        + "FROM Disk('backups', 'luminate/20261130T140500Z/') ASYNC"

    private func engine(_ clickhouse: ScriptedClickHouse, context: Context) -> NativeRestoreEngine {
        NativeRestoreEngine(clickhouse: clickhouse.client(context: context), disk: "backups", diskPath: "luminate", pollInterval: 2)
    }

    private func manifest(_ id: String = "20261130T140500Z", base: String? = nil) -> BackupManifest {
        BackupFixtures.manifest(id, base: base, tables: [TableBackup(
            database: "luminate", table: "metrics", engine: "MergeTree",
            createStatement: "CREATE TABLE luminate.metrics (ts DateTime) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts",
            partitions: ["20261126", "20261127", "20261128"].map { PartitionBackup(shard: 1, id: $0, rows: 100, bytes: 10) })])
    }

    private func request(
        _ manifest: BackupManifest, partitions: [String] = ["20261126", "20261127"], cluster: String? = nil,
        allowNonEmpty: Bool = false, clickhouse: ClickHouseHTTP
    ) -> RestoreLoad {
        let servers = RestoreServers(cluster: cluster, shards: [RestoreShard(shard: 1, primary: clickhouse, replicas: [clickhouse])])
        return RestoreLoad(manifest: manifest, source: manifest.tables[0], partitions: partitions,
                           target: QualifiedTable("luminate_restore", "metrics_stage"), servers: servers, allowNonEmpty: allowNonEmpty)
    }

    private func row(_ status: String, files: Int = 0, bytes: Int = 0, error: String = "") -> String {
        #"{"id": "\#(Self.restoreID)", "status": "\#(status)", "error": \#(JSONValue.string(error)), "num_files": "\#(files)", "total_size": "\#(bytes)", "query_id": "\#(Self.restoreQueryID)"}"#
    }

    /// A fake server that has answered the RESTORE statement with a started restore.
    private func started() -> (ScriptedClickHouse, Context) {
        let clickhouse = ScriptedClickHouse()
        clickhouse.expect("RESTORE TABLE", rows: [#"{"id": "\#(Self.restoreID)", "status": "RESTORING"}"#])
        return (clickhouse, Context.fake(http: clickhouse.http))
    }

    /// What a load of two partitions of `manifest` throws; fails the test when it does not throw.
    private func loadError(
        _ clickhouse: ScriptedClickHouse, context: Context, manifest: BackupManifest? = nil,
        store: (any BackupStore)? = nil, journal: InMemoryJournal = InMemoryJournal()
    ) throws -> any Error {
        let session = try SessionFixtures.session(context: context, journal: journal, kind: "restore")
        let load = request(manifest ?? self.manifest(), clickhouse: clickhouse.client(context: context))
        let scratch = ScratchDirectory()
        do {
            try engine(clickhouse, context: context).load(load, store: store ?? LocalDirectoryStore(root: scratch.path), session: session) { _ in }
        } catch {
            return error
        }
        XCTFail("the load did not throw")
        return CancellationError()
    }

    // MARK: - Statements

    func testStatements() throws {
        let context = Context.fake()
        let scripted = ScriptedClickHouse()
        let native = engine(scripted, context: context)
        let client = scripted.client(context: context)
        let full = manifest()

        XCTAssertEqual(try native.statement(request(full, clickhouse: client)).sql, Self.statement)
        XCTAssertEqual(try native.statement(request(full, partitions: ["20261128", "20261126", "20261127"], clickhouse: client)).sql,
                       "RESTORE TABLE `luminate`.`metrics` AS `luminate_restore`.`metrics_stage` FROM Disk('backups', 'luminate/20261130T140500Z/') ASYNC",
                       "every partition of the backup: no PARTITIONS clause")
        XCTAssertEqual(try native.statement(request(full, partitions: ["20261126"], cluster: "luminate", allowNonEmpty: true, clickhouse: client)).sql,
                       "RESTORE TABLE `luminate`.`metrics` AS `luminate_restore`.`metrics_stage` PARTITIONS ID '20261126' ON CLUSTER `luminate` "
                       + "FROM Disk('backups', 'luminate/20261130T140500Z/') SETTINGS allow_non_empty_tables = true ASYNC")
        XCTAssertEqual(try native.statement(request(manifest(base: "20261130T130000Z"), clickhouse: client)).sql, Self.statement,
                       "an incremental is restored from its own folder: ClickHouse finds the base from there")

        var bad = request(full, clickhouse: client)
        bad.target = QualifiedTable("luminate_restore", "bad name")
        XCTAssertThrowsError(try native.statement(bad)) { XCTAssertTrue($0 is SQLError, "\($0)") }
        var freeze = full
        freeze.engine = .freeze
        XCTAssertThrowsError(try native.statement(request(freeze, clickhouse: client))) {
            XCTAssertEqual("\($0)", "backup 20261130T140500Z was taken by the freeze engine; RESTORE reads native backups only")
        }
        XCTAssertEqual(scripted.http.received.count, 0)
    }

    func testDescribeNamesTheStatementAndThePolling() throws {
        let context = Context.fake()
        let scripted = ScriptedClickHouse()
        let native = engine(scripted, context: context)
        XCTAssertEqual(native.describe(request(manifest(), clickhouse: scripted.client(context: context))), [
            Self.statement,
            "poll system.backups every 2s until RESTORED, RESTORE_FAILED or RESTORE_CANCELLED",
        ])
        XCTAssertEqual(native.describe(request(manifest(base: "20261130T130000Z"), clickhouse: scripted.client(context: context))).first,
                       "check the store holds 20261130T130000Z/.backup and that of every base below it (RESTORE reads them itself)")
    }

    // MARK: - Load

    func testRestorePolledUntilRestored() throws {
        let clickhouse = ScriptedClickHouse()
        let clock = ManualClock("2026-11-30T15:00:00Z")
        let context = Context.fake(http: clickhouse.http, clock: clock)
        clickhouse.expect(Self.statement, rows: [#"{"id": "\#(Self.restoreID)", "status": "RESTORING"}"#])
        clickhouse.expect("SELECT id, status, error, num_files, total_size, query_id FROM system.backups WHERE id = '\(Self.restoreID)'",
                          rows: [row("RESTORING", files: 10, bytes: 1000)])
        clickhouse.expect("FROM system.backups WHERE id = '\(Self.restoreID)'", rows: [row("RESTORED", files: 37, bytes: 3704)])

        let journal = InMemoryJournal()
        let session = try SessionFixtures.session(context: context, journal: journal, kind: "restore")
        let reports = RestoreProgressRecorder()
        let native = engine(clickhouse, context: context)
        let load = request(manifest(), clickhouse: clickhouse.client(context: context))
        try native.load(load, store: LocalDirectoryStore(root: ScratchDirectory().path), session: session) { reports.add($0) }

        XCTAssertEqual(clickhouse.http.pending, 0)
        XCTAssertEqual(clickhouse.statements.first, Self.statement + "\nFORMAT JSON")
        XCTAssertTrue(clickhouse.http.received[0].url.contains("max_execution_time=0"), "the background restore has no time limit of this request")
        XCTAssertEqual(reports.all, [RestoreProgress(phase: "RESTORE running", files: 10, bytes: 1000),
                                     RestoreProgress(phase: "RESTORE running", files: 37, bytes: 3704)])
        XCTAssertEqual(clock.now(), Timestamp.parse("2026-11-30T15:00:02Z")!, "one poll interval slept")
        XCTAssertEqual(journal.events.compactMap(\.step), [
            "start RESTORE of luminate.metrics into luminate_restore.metrics_stage",
            "wait for ClickHouse to finish the restore",
        ])
        XCTAssertEqual(journal.events[0].evidence["statement"]?.string, Self.statement)
        XCTAssertEqual(journal.events[0].evidence["clickhouseRestoreID"]?.string, Self.restoreID)
        XCTAssertEqual(journal.events[1].evidence["files"]?.number, 37)
        XCTAssertEqual(journal.events[1].evidence["bytes"]?.number, 3704)
    }

    func testAFailedRestoreCarriesTheServersErrorWithoutItsStackTrace() throws {
        let (clickhouse, context) = started()
        // What 26.9 wrote into system.backups for a target that already held rows.
        let error = "Code: 608. DB::Exception: Cannot restore the table luminate_restore.metrics_stage because it already contains some data. "
            + "You can set structure_only=true, restore_table_data=false or allow_non_empty_tables=true to overcome that in the way you want: "
            + "While restoring data of table luminate_restore.metrics_stage. (CANNOT_RESTORE_TABLE), Stack trace (when copying this message, "
            + "always include the lines below):\n\n0. ? @ 0x000000001d967133\n1. ? @ 0x000000000e717b9e\n"
        clickhouse.expect("FROM system.backups", rows: [row("RESTORE_FAILED", error: error)])

        let failure = try loadError(clickhouse, context: context)
        XCTAssertEqual("\(failure)", "ClickHouse ch.test:8123 reports restore \(Self.restoreID) of luminate.metrics into luminate_restore.metrics_stage RESTORE_FAILED: "
                       + "Code: 608. DB::Exception: Cannot restore the table luminate_restore.metrics_stage because it already contains some data. "
                       + "You can set structure_only=true, restore_table_data=false or allow_non_empty_tables=true to overcome that in the way you want: "
                       + "While restoring data of table luminate_restore.metrics_stage. (CANNOT_RESTORE_TABLE)")
        XCTAssertEqual((failure as? NativeRestoreFailed)?.hint,
                       "luminate_restore.metrics_stage already holds data: empty it, or load beside it with --in-place --allow-non-empty")
        XCTAssertEqual(clickhouse.http.pending, 0)
    }

    func testACancelledRestoreIsAFailureToo() throws {
        let (clickhouse, context) = started()
        clickhouse.expect("FROM system.backups", rows: [row("RESTORE_CANCELLED", error: "Code: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED)")])
        let failed = try loadError(clickhouse, context: context) as? NativeRestoreFailed
        XCTAssertEqual(failed?.status, "RESTORE_CANCELLED")
        XCTAssertEqual(failed?.host, "ch.test:8123")
        XCTAssertEqual(failed?.hint, "SELECT error FROM system.backups WHERE id = '\(Self.restoreID)' on ch.test:8123 has the whole error")
    }

    func testCtrlCKillsTheRestoreByItsQueryID() throws {
        for killed in [true, false] {
            let (clickhouse, context) = started()
            let interrupt = context.interrupt
            let polled = #"{"meta": [], "data": [\#(row("RESTORING", files: 3, bytes: 300))], "rows": 1}"#
            clickhouse.http.expect("POST", urlPrefix: ScriptedClickHouse.url + "/?") { _ in
                interrupt.raise(SIGINT)  // Ctrl-C while the engine sleeps after this poll
                return HTTPResponse(status: 200, body: Data(polled.utf8))
            }
            // The restore runs under the query id system.backups names; the restore's id kills nothing.
            let kill = "KILL QUERY WHERE query_id = '\(Self.restoreQueryID)' SYNC"
            if killed {
                clickhouse.expect(kill, rows: [#"{"kill_status": "finished", "query_id": "\#(Self.restoreQueryID)", "user": "ops"}"#])
            } else {
                clickhouse.expect(kill, status: 200, body: "")
            }
            let error = try loadError(clickhouse, context: context)
            XCTAssertEqual(error as? NativeRestoreInterrupted,
                           NativeRestoreInterrupted(id: Self.restoreID, host: "ch.test:8123", target: "luminate_restore.metrics_stage", signal: SIGINT, killed: killed))
            XCTAssertEqual((error as? NativeRestoreInterrupted)?.exitCode, .interrupted)
            XCTAssertEqual("\(error)", killed
                ? "interrupted while ClickHouse ch.test:8123 was restoring into luminate_restore.metrics_stage (restore \(Self.restoreID)); the server stopped it (KILL QUERY), and luminate_restore.metrics_stage may hold part of the data"
                : "interrupted while ClickHouse ch.test:8123 was restoring into luminate_restore.metrics_stage (restore \(Self.restoreID)); the server did not confirm it stopped, and may still be writing into luminate_restore.metrics_stage")
            XCTAssertEqual(clickhouse.http.pending, 0)
        }
    }

    func testAVanishedRowMeansARestartedServer() throws {
        let (clickhouse, context) = started()
        clickhouse.expect("FROM system.backups", rows: [])
        let error = try loadError(clickhouse, context: context)
        XCTAssertEqual(error as? NativeRestoreVanished, NativeRestoreVanished(id: Self.restoreID, host: "ch.test:8123", target: "luminate_restore.metrics_stage"))
        XCTAssertTrue("\(error)".contains("the server was restarted (system.backups lives in memory)"), "\(error)")
    }

    // MARK: - Incremental chains

    func testAMissingBaseIsRefusedBeforeAnyRequest() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        // 14:05 builds on 13:00, which builds on 12:00; 12:00 was deleted behind luminatectl's back.
        let middle = manifest("20261130T130000Z", base: "20261130T120000Z")
        try BackupFixtures.storeComplete(middle, in: store)
        try store.write("20261130T130000Z/.backup", data: Data("<config/>".utf8))

        let journal = InMemoryJournal()
        let error = try loadError(clickhouse, context: context, manifest: manifest(base: "20261130T130000Z"), store: store, journal: journal)
        let missing = error as? NativeRestoreBaseMissing
        XCTAssertEqual(missing?.missing, "20261130T120000Z")
        XCTAssertEqual("\(error)", "backup 20261130T140500Z cannot be restored: it is incremental on 20261130T130000Z, which is incremental on 20261130T120000Z, "
                       + "and the store \(store.location) does not hold 20261130T120000Z/.backup")
        XCTAssertNotNil(missing?.hint)
        XCTAssertEqual(clickhouse.http.received.count, 0, "nothing was sent to ClickHouse")
        XCTAssertEqual(journal.events.compactMap(\.step), [])
    }

    func testABaseWithoutItsManifestIsRefused() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        try store.write("20261130T130000Z/.backup", data: Data("<config/>".utf8))
        let error = try loadError(clickhouse, context: context, manifest: manifest(base: "20261130T130000Z"), store: store)
        XCTAssertTrue("\(error)".hasSuffix("holds no manifest of 20261130T130000Z (an incomplete backup), so what it builds on is unknown"), "\(error)")
        XCTAssertEqual(clickhouse.http.received.count, 0)
    }

    func testAWholeChainIsCheckedThenRestored() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        for base in [manifest("20261130T130000Z", base: "20261130T120000Z"), manifest("20261130T120000Z")] {
            try BackupFixtures.storeComplete(base, in: store)
            try store.write("\(base.id)/.backup", data: Data("<config/>".utf8))
        }
        clickhouse.expect(Self.statement, rows: [#"{"id": "\#(Self.restoreID)", "status": "RESTORING"}"#])
        clickhouse.expect("FROM system.backups", rows: [row("RESTORED", files: 5, bytes: 50)])

        let journal = InMemoryJournal()
        let session = try SessionFixtures.session(context: context, journal: journal, kind: "restore")
        let load = request(manifest(base: "20261130T130000Z"), clickhouse: clickhouse.client(context: context))
        try engine(clickhouse, context: context).load(load, store: store, session: session) { _ in }

        XCTAssertEqual(clickhouse.http.pending, 0)
        XCTAssertEqual(journal.events.compactMap(\.step), [
            "check the store holds every base of 20261130T140500Z",
            "start RESTORE of luminate.metrics into luminate_restore.metrics_stage",
            "wait for ClickHouse to finish the restore",
        ])
        XCTAssertEqual(journal.events[0].evidence["bases"], .array([.string("20261130T130000Z"), .string("20261130T120000Z")]))
    }
}

/// Every progress report of a load, in order.
private final class RestoreProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [RestoreProgress] = []
    func add(_ report: RestoreProgress) { lock.lock(); reports.append(report); lock.unlock() }
    var all: [RestoreProgress] { lock.lock(); defer { lock.unlock() }; return reports }
}
