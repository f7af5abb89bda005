import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `NativeRestoreEngine` against the sandbox's modern node (ClickHouse 26.9's engine) and its S3:
/// backups taken by `luminatectl backup create` of a database of the test's own, read back with
/// `RESTORE ... AS` into empty tables of the same structure, and compared row for row (counts and
/// `sum(cityHash64(*))` per partition). `luminate.metrics` is never touched.
final class NativeRestoreIntegrationTests: XCTestCase {
    private struct PartitionDigest: Decodable, Equatable {
        var partition: String
        var rows: FlexibleUInt64
        var hash: String
    }

    private static let partitions = ["20261126", "20261127", "20261128"]

    func testPartitionsOfAFullBackupAndAWholeIncrementalRestoredRowForRow() throws {
        let h = try BackupHarness.modern()
        let clickhouse = try h.clickhouse()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let source = "nrestore_\(suffix)"
        let staging = "nrestore_\(suffix)_stg"
        addTeardownBlock {
            for database in [source, staging] { try? clickhouse.execute("DROP DATABASE IF EXISTS `\(database)` SYNC") }
        }

        try clickhouse.execute("CREATE DATABASE `\(source)`")
        try clickhouse.execute("""
            CREATE TABLE `\(source)`.`samples` (ts DateTime('UTC'), host LowCardinality(String), value Float64)
            ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (host, ts)
            """)
        // 1490 rows, one every 173 s from 2026-11-26 00:00 UTC: three daily partitions.
        try clickhouse.execute("""
            INSERT INTO `\(source)`.`samples` SELECT toDateTime('2026-11-26 00:00:00', 'UTC') + number * 173,
                concat('host-', toString(number % 7)), number / 3 FROM numbers(1490)
            """)
        let sourceBefore = try digest(clickhouse, source, "samples")
        XCTAssertEqual(sourceBefore.map(\.partition), Self.partitions)

        let full = try backup(h, database: source)
        XCTAssertEqual(full.tables.map(\.table), ["samples"])
        XCTAssertEqual(full.tables[0].partitions.map(\.id), Self.partitions)

        try clickhouse.execute("CREATE DATABASE `\(staging)`")
        try clickhouse.execute("CREATE TABLE `\(staging)`.`partial` AS `\(source)`.`samples`")
        let engine = NativeRestoreEngine(clickhouse: clickhouse, disk: "backups", diskPath: h.folder, pollInterval: 0.2)

        // Two of the three partitions.
        let partial = RestoreLoad(manifest: full, source: full.tables[0], partitions: ["20261126", "20261128"],
                                  target: QualifiedTable(staging, "partial"), servers: .single(clickhouse))
        XCTAssertEqual(try engine.statement(partial).sql,
                       "RESTORE TABLE `\(source)`.`samples` AS `\(staging)`.`partial` PARTITIONS ID '20261126', ID '20261128' "
                       + "FROM Disk('backups', '\(h.folder)\(full.id)/') ASYNC")
        let (session, journal) = try newSession(h)
        let reports = Reports()
        try engine.load(partial, store: try h.store(), session: session) { reports.add($0) }
        XCTAssertEqual(try digest(clickhouse, staging, "partial"), sourceBefore.filter { $0.partition != "20261127" })
        for partition in ["20261126", "20261128"] {
            XCTAssertEqual(try digest(clickhouse, staging, "partial", partition: partition),
                           try digest(clickhouse, source, "samples", partition: partition), "partition \(partition)")
        }
        XCTAssertEqual(journal.events.compactMap(\.step), [
            "start RESTORE of \(source).samples into \(staging).partial",
            "wait for ClickHouse to finish the restore",
        ])
        XCTAssertEqual(journal.events[0].evidence["statement"]?.string, try engine.statement(partial).sql)
        XCTAssertNotNil(journal.events[0].evidence["clickhouseRestoreID"]?.string)
        XCTAssertGreaterThan(journal.events[1].evidence["files"]?.number ?? 0, 0)
        XCTAssertEqual(reports.phases.last, "RESTORE running")

        // Loading the same partitions again into the now non-empty table: the server refuses
        // (608) and the engine says so, with the hint that names the way around it.
        XCTAssertThrowsError(try engine.load(partial, store: try h.store(), session: try self.newSession(h).0) { _ in }) { error in
            XCTAssertEqual((error as? NativeRestoreFailed)?.status, "RESTORE_FAILED", "\(error)")
            XCTAssertTrue("\(error)".contains("Code: 608."), "\(error)")
            XCTAssertFalse("\(error)".contains("Stack trace"), "\(error)")
        }

        // New rows in the last partition and a fourth one, then an incremental on the full backup.
        try clickhouse.execute("""
            INSERT INTO `\(source)`.`samples` SELECT toDateTime('2026-11-28 12:00:00', 'UTC') + number * 60,
                concat('host-', toString(number % 5)), number * 1.5 FROM numbers(1200)
            """)
        let sourceAfter = try digest(clickhouse, source, "samples")
        XCTAssertEqual(sourceAfter.map(\.partition), Self.partitions + ["20261129"])
        Thread.sleep(forTimeInterval: 1.1)  // backup ids are start times to the second
        let incremental = try backup(h, database: source, ["--incremental-from", "latest"])
        XCTAssertEqual(incremental.base, full.id)

        try clickhouse.execute("CREATE TABLE `\(staging)`.`whole` AS `\(source)`.`samples`")
        let whole = RestoreLoad(manifest: incremental, source: incremental.tables[0], partitions: incremental.tables[0].partitions.map(\.id),
                                target: QualifiedTable(staging, "whole"), servers: .single(clickhouse))
        XCTAssertTrue(whole.allPartitions)
        XCTAssertFalse(try engine.statement(whole).sql.contains("PARTITIONS"))
        let (incrementalSession, incrementalJournal) = try newSession(h)
        try engine.load(whole, store: try h.store(), session: incrementalSession) { _ in }
        XCTAssertEqual(try digest(clickhouse, staging, "whole"), sourceAfter, "the incremental and its base together are the whole table")
        XCTAssertEqual(incrementalJournal.events.first?.step, "check the store holds every base of \(incremental.id)")
        XCTAssertEqual(incrementalJournal.events.first?.evidence["bases"], .array([.string(full.id)]))

        // Without its base in the store the incremental is refused before ClickHouse is asked.
        let store = try h.store()
        try store.delete("\(full.id)/.backup")
        try clickhouse.execute("CREATE TABLE `\(staging)`.`orphan` AS `\(source)`.`samples`")
        var orphan = whole
        orphan.target = QualifiedTable(staging, "orphan")
        XCTAssertThrowsError(try engine.load(orphan, store: store, session: try self.newSession(h).0) { _ in }) { error in
            XCTAssertEqual((error as? NativeRestoreBaseMissing)?.missing, full.id, "\(error)")
        }
        XCTAssertEqual(try digest(clickhouse, staging, "orphan"), [])

        XCTAssertEqual(try digest(clickhouse, source, "samples"), sourceAfter, "the source was only read")
    }

    // MARK: - Helpers

    /// `backup create` of `database` (every table of it) through the CLI, in-process.
    private func backup(_ h: BackupHarness, database: String, _ extra: [String] = []) throws -> BackupManifest {
        let result = h.run(["backup", "create", "-o", "json"] + extra, environment: ["LUMINATECTL_CLICKHOUSE_DATABASE": database])
        XCTAssertEqual(result.code, .success, result.err)
        let manifest = try BackupManifest.decode(Data(result.out.utf8))
        XCTAssertEqual(manifest.engine, .native)
        return manifest
    }

    /// Rows and `sum(cityHash64(*))` per partition (the sum as text: it overflows 2^53).
    private func digest(_ clickhouse: ClickHouseHTTP, _ database: String, _ table: String, partition: String? = nil) throws -> [PartitionDigest] {
        let filter = partition.map { " WHERE _partition_id = '\($0)'" } ?? ""
        return try clickhouse.query(
            "SELECT _partition_id AS partition, count() AS rows, toString(sum(cityHash64(*))) AS hash FROM `\(database)`.`\(table)`\(filter) GROUP BY partition ORDER BY partition",
            as: PartitionDigest.self)
    }

    /// A session over an in-memory journal, as the restore plan would hand the engine.
    private func newSession(_ h: BackupHarness) throws -> (OperationSession, InMemoryJournal) {
        let context = Context(processes: PosixProcessRunner(), http: CurlTransport(), clock: SystemClock(),
                              console: CapturedOutput().console(), environment: h.environment, workingDirectory: h.scratch)
        let configuration = try ConfigurationLoader(context: context).load(GlobalOptions())
        let journal = InMemoryJournal()
        let template = JournalEvent(operationID: "op-it", event: .started, time: Date(), actor: Actor(user: "it", host: "localhost"),
                                    environment: h.environmentName, commandLine: "luminatectl restore", operation: "restore", targets: [])
        let session = OperationSession(id: "op-it", spec: OperationSpec(kind: "restore", targets: []), context: context,
                                       configuration: configuration, template: template, journal: journal)
        return (session, journal)
    }
}

/// Every progress report of a load, in order.
private final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [RestoreProgress] = []
    func add(_ report: RestoreProgress) { lock.lock(); all.append(report); lock.unlock() }
    var phases: [String] { lock.lock(); defer { lock.unlock() }; return all.map(\.phase) }
}
