import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The native engine against recorded answers of a ClickHouse 24.8 cluster (2 shards × 2
/// replicas): the sandbox's modern node is a single server, so `ON CLUSTER` and `cluster()`
/// are exercised here only. The single-server path runs for real in the integration tests.
final class NativeEngineTests: XCTestCase {
    private let id = BackupID("20261130T140500Z")!

    private func engine(_ clickhouse: ScriptedClickHouse, context: Context) -> NativeEngine {
        NativeEngine(clickhouse: clickhouse.client(context: context), disk: "backups", diskPath: "luminate", pollInterval: 2)
    }

    func testStatements() throws {
        let context = Context.fake()
        let native = engine(ScriptedClickHouse(), context: context)
        XCTAssertEqual(try native.statement(BackupRequest(id: id, database: "luminate")).sql,
                       "BACKUP DATABASE `luminate` TO Disk('backups', 'luminate/20261130T140500Z/') ASYNC")
        let base = BackupFixtures.manifest("20261130T130000Z")
        XCTAssertEqual(try native.statement(BackupRequest(id: id, database: "luminate", tables: ["metrics_local", "other.t"],
                                                          partitions: ["20261126", "20261127"], base: base, cluster: "luminate")).sql,
                       "BACKUP TABLE `luminate`.`metrics_local` PARTITIONS ID '20261126', ID '20261127', TABLE `other`.`t` PARTITIONS ID '20261126', ID '20261127' "
                       + "ON CLUSTER `luminate` TO Disk('backups', 'luminate/20261130T140500Z/') "
                       + "SETTINGS base_backup = Disk('backups', 'luminate/20261130T130000Z/') ASYNC")
        XCTAssertThrowsError(try native.statement(BackupRequest(id: id, database: "luminate", tables: ["bad name"])))
    }

    func testOnClusterBackupPolledUntilCreated() throws {
        let clickhouse = ScriptedClickHouse()
        let output = CapturedOutput()
        let clock = ManualClock("2026-11-30T14:05:00Z")
        let context = Context.fake(http: clickhouse.http, clock: clock, output: output)
        let scratch = ScratchDirectory()
        let store = LocalDirectoryStore(root: scratch.path)
        // What ClickHouse writes to the disk that is the store.
        try store.write("20261130T140500Z/.backup", data: Data("<config/>".utf8))

        clickhouse.expect("SELECT version()", rows: [#"{"version": "24.8.4.13"}"#])
        clickhouse.expect("FROM system.tables", rows: [
            #"{"database": "luminate", "name": "metrics", "engine": "Distributed", "create_table_query": "CREATE TABLE luminate.metrics (ts DateTime) ENGINE = Distributed(luminate, luminate, metrics_local)"}"#,
            #"{"database": "luminate", "name": "metrics_local", "engine": "ReplicatedMergeTree", "create_table_query": "CREATE TABLE luminate.metrics_local (ts DateTime) ENGINE = ReplicatedMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts"}"#,
        ])
        let partitions = [
            #"{"shard": 1, "table": "metrics_local", "partition_id": "20261126", "rows": "1000", "bytes": "9000"}"#,
            #"{"shard": 2, "table": "metrics_local", "partition_id": "20261126", "rows": "1000", "bytes": "9100"}"#,
        ]
        clickhouse.expect("FROM cluster('luminate', system.parts)", rows: partitions)
        clickhouse.expect("FROM system.clusters WHERE cluster = 'luminate'", rows: [
            #"{"shard_num": 1, "replica_num": 1, "host_name": "clickhouse-s1-0", "port": 9000}"#,
            #"{"shard_num": 1, "replica_num": 2, "host_name": "clickhouse-s1-1", "port": 9000}"#,
            #"{"shard_num": 2, "replica_num": 1, "host_name": "clickhouse-s2-0", "port": 9000}"#,
            #"{"shard_num": 2, "replica_num": 2, "host_name": "clickhouse-s2-1", "port": 9000}"#,
        ])
        clickhouse.expect("BACKUP DATABASE `luminate` ON CLUSTER `luminate` TO Disk('backups', 'luminate/20261130T140500Z/') ASYNC",
                          rows: [#"{"id": "7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f", "status": "CREATING_BACKUP"}"#])
        clickhouse.expect("FROM system.backups WHERE id = '7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f'",
                          rows: [#"{"id": "7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f", "status": "CREATING_BACKUP", "error": "", "num_files": "0", "total_size": "0"}"#])
        clickhouse.expect("FROM system.backups WHERE id = '7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f'",
                          rows: [#"{"id": "7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f", "status": "BACKUP_CREATED", "error": "", "num_files": "118", "total_size": "18100"}"#])
        // A write landed on shard 2 meanwhile: the backup holds 1000 to 1010 rows of it.
        clickhouse.expect("FROM cluster('luminate', system.parts)", rows: [
            partitions[0], #"{"shard": 2, "table": "metrics_local", "partition_id": "20261126", "rows": "1010", "bytes": "9150"}"#,
        ])

        let journal = InMemoryJournal()
        let session = try SessionFixtures.session(context: context, journal: journal)
        let reports = ProgressRecorder()
        let outcome = try engine(clickhouse, context: context).run(
            BackupRequest(id: id, database: "luminate", cluster: "luminate"), store: store, session: session) { reports.add($0) }

        XCTAssertEqual(clickhouse.http.pending, 0)
        XCTAssertEqual(outcome.serverVersion, "24.8.4.13")
        XCTAssertEqual(outcome.native, NativeBackupDetails(destination: "Disk('backups', 'luminate/20261130T140500Z/')",
                                                           clickhouseBackupID: "7b1f0c4e-0d1e-4c55-9a8f-3a1b2c3d4e5f", files: 118, totalSize: 18100))
        XCTAssertEqual(outcome.sizeBytes, UInt64("<config/>".utf8.count), "what the store holds of it, not ClickHouse's total_size")
        XCTAssertEqual(outcome.cluster?.shards.map(\.replicas), [2, 2])
        XCTAssertEqual(outcome.tables.map(\.table), ["metrics", "metrics_local"])
        XCTAssertEqual(outcome.tables[0].partitions, [], "a Distributed table holds no data of its own")
        XCTAssertEqual(outcome.tables[1].partitions, [
            PartitionBackup(shard: 1, id: "20261126", rows: 1000, bytes: 9000),
            PartitionBackup(shard: 2, id: "20261126", rows: 1000, bytes: 9100, rowsUpperBound: 1010),
        ])
        XCTAssertEqual(reports.phases, ["BACKUP running", "created"])
        XCTAssertEqual(clock.now(), Timestamp.parse("2026-11-30T14:05:02Z")!, "one poll interval slept")
        XCTAssertEqual(journal.events.compactMap(\.step), [
            "read the server and count the partitions",
            "start BACKUP to Disk('backups', 'luminate/20261130T140500Z/')",
            "wait for ClickHouse to finish the backup",
            "count the partitions again",
            "check the store holds what ClickHouse wrote",
        ])
        XCTAssertFalse(journal.events.map { "\($0)" }.joined().contains("s3cret-pw"))
    }

    func testAFailedBackupCarriesTheServersError() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        clickhouse.expect("SELECT version()", rows: [#"{"version": "26.9.2.1"}"#])
        clickhouse.expect("FROM system.tables", rows: [])
        clickhouse.expect("FROM system.parts", rows: [])
        clickhouse.expect("BACKUP DATABASE `luminate` TO", rows: [#"{"id": "b-1", "status": "CREATING_BACKUP"}"#])
        clickhouse.expect("FROM system.backups", rows: [
            #"{"id": "b-1", "status": "BACKUP_FAILED", "error": "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)\nstack", "num_files": "0", "total_size": "0"}"#,
        ])
        let session = try SessionFixtures.session(context: context)
        XCTAssertThrowsError(try engine(clickhouse, context: context).run(
            BackupRequest(id: id, database: "luminate"), store: LocalDirectoryStore(root: ScratchDirectory().path), session: session) { _ in }) { error in
            XCTAssertEqual("\(error)", "ClickHouse ch.test:8123 reports backup b-1 BACKUP_FAILED: Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)")
        }
    }

    func testTheStoreMustSeeWhatTheServerWrote() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        clickhouse.expect("SELECT version()", rows: [#"{"version": "26.9.2.1"}"#])
        clickhouse.expect("FROM system.tables", rows: [])
        clickhouse.expect("FROM system.parts", rows: [])
        clickhouse.expect("BACKUP DATABASE", rows: [#"{"id": "b-1", "status": "CREATING_BACKUP"}"#])
        clickhouse.expect("FROM system.backups", rows: [#"{"id": "b-1", "status": "BACKUP_CREATED", "num_files": "3", "total_size": "10"}"#])
        clickhouse.expect("FROM system.parts", rows: [])
        let session = try SessionFixtures.session(context: context)
        XCTAssertThrowsError(try engine(clickhouse, context: context).run(
            BackupRequest(id: id, database: "luminate"), store: LocalDirectoryStore(root: ScratchDirectory().path), session: session) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("the store does not hold it"), "\(error)")
            XCTAssertTrue((error as? BackupStoreError)?.hint?.contains("backup.diskPath") == true)
        }
    }

    func testAnOldServerIsRefusedWithTheFreezeEngineNamed() throws {
        let clickhouse = ScriptedClickHouse()
        let context = Context.fake(http: clickhouse.http)
        clickhouse.expect("SELECT version()", rows: [#"{"version": "18.16.1"}"#])
        let session = try SessionFixtures.session(context: context)
        XCTAssertThrowsError(try engine(clickhouse, context: context).run(
            BackupRequest(id: id, database: "luminate"), store: LocalDirectoryStore(root: ScratchDirectory().path), session: session) { _ in }) { error in
            XCTAssertEqual((error as? ValidationError)?.hint, "use --engine freeze, which runs beside the server and uploads frozen parts")
        }
    }
}

final class ProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [BackupProgressReport] = []
    func add(_ report: BackupProgressReport) { lock.lock(); all.append(report); lock.unlock() }
    var phases: [String] { lock.lock(); defer { lock.unlock() }; return all.map(\.phase) }
}
