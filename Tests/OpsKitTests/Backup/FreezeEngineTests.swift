import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The freeze engine against simulated servers: which replicas it reads, what it sends in which
/// order, what it uploads, and that the shadow directories are gone however the run ends.
final class FreezeEngineTests: XCTestCase {
    func testBacksUpOneReplicaPerShardInThisOrder() throws {
        let fixture = try FreezeFixture(days: 2)
        let store = LocalDirectoryStore(root: fixture.storeRoot)
        let reports = Reports()
        let outcome = try fixture.engine().run(fixture.request(), store: store, session: fixture.session, progress: reports.add)

        let (s1, s2) = (fixture.nodes.node(shard: 1, replica: 1), fixture.nodes.node(shard: 2, replica: 1))
        let name = "luminatectl_20261130T140500Z"
        XCTAssertEqual(fixture.nodes.received, [
            "9011: SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = 'luminate' ORDER BY shard_num, replica_num",
            "9011: SELECT version() AS version",
            "9021: SELECT version() AS version",
            "9011: SELECT name, engine FROM system.tables WHERE database = 'luminate' ORDER BY name",
            "9011: SHOW CREATE TABLE `luminate`.`metrics`",
            "9011: SHOW CREATE TABLE `luminate`.`metrics_local`",
            "9011: SELECT table, groupUniqArray(replaceRegexpOne(path, '[^/]+/$', '')) AS directories, any(path) AS part FROM system.parts WHERE active AND database = 'luminate' AND table IN ('metrics_local') GROUP BY table ORDER BY table",
            "9021: SELECT table, groupUniqArray(replaceRegexpOne(path, '[^/]+/$', '')) AS directories, any(path) AS part FROM system.parts WHERE active AND database = 'luminate' AND table IN ('metrics_local') GROUP BY table ORDER BY table",
            "9011: ALTER TABLE `luminate`.`metrics_local` FREEZE WITH NAME '\(name)'",
            "9011: SELECT name, partition_id, rows, bytes_on_disk FROM system.parts WHERE database = 'luminate' AND table = 'metrics_local' AND name IN ('20261120_0_0_0', '20261121_0_0_0') ORDER BY name",
            "9021: ALTER TABLE `luminate`.`metrics_local` FREEZE WITH NAME '\(name)'",
            "9021: SELECT name, partition_id, rows, bytes_on_disk FROM system.parts WHERE database = 'luminate' AND table = 'metrics_local' AND name IN ('20261120_0_0_0', '20261121_0_0_0') ORDER BY name",
        ])
        XCTAssertEqual(fixture.steps, [
            "choose one replica per shard of cluster luminate (from 127.0.0.1:9011)",
            "read the tables of luminate on shard 1 (127.0.0.1:9011)",
            "locate the data of shard 1 (127.0.0.1:9011)",
            "locate the data of shard 2 (127.0.0.1:9021)",
            "remove stale shadow directories on shard 1 (127.0.0.1:9011)",
            "remove stale shadow directories on shard 2 (127.0.0.1:9021)",
            "freeze luminate.metrics_local on shard 1 (127.0.0.1:9011)",
            "freeze luminate.metrics_local on shard 2 (127.0.0.1:9021)",
            "upload shard 1 (127.0.0.1:9011) to \(store.location)",
            "upload shard 2 (127.0.0.1:9021) to \(store.location)",
            "remove shadow directory \(name) on shard 1 (127.0.0.1:9011)",
            "remove shadow directory \(name) on shard 2 (127.0.0.1:9021)",
            "upload the schema of 2 tables to \(store.location)",
        ])

        XCTAssertEqual(outcome.serverVersion, "18.16.1")
        XCTAssertEqual(outcome.snapshotAt, fixture.clock.now())
        XCTAssertEqual(outcome.cluster, BackupClusterLayout(name: "luminate", shards: [
            ShardSource(shard: 1, replica: "127.0.0.1:9011", replicas: 2), ShardSource(shard: 2, replica: "127.0.0.1:9021", replicas: 2),
        ]))
        XCTAssertNil(outcome.native)
        XCTAssertEqual(outcome.tables.map(\.table), ["metrics", "metrics_local"])
        XCTAssertEqual(outcome.tables[0].engine, "Distributed")
        XCTAssertEqual(outcome.tables[0].partitions, [], "a Distributed table is recorded by its schema only")
        XCTAssertEqual(outcome.tables[0].createStatement, "CREATE TABLE luminate.metrics (timestamp DateTime) ENGINE = Distributed")
        let partitions = outcome.tables[1].partitions
        XCTAssertEqual(partitions.map { "\($0.shard)/\($0.id)/\($0.rows)" }, ["1/20261120/1010", "1/20261121/1011", "2/20261120/1020", "2/20261121/1021"])
        XCTAssertEqual(partitions.map(\.bytes), s1.parts.map(FakeClickHouseNodes.Node.bytes(of:)) + s2.parts.map(FakeClickHouseNodes.Node.bytes(of:)))

        // Three files a part, two parts a shard, two schema files; each as the store holds it.
        XCTAssertEqual(outcome.files.count, 2 * 2 * 3 + 2)
        XCTAssertEqual(outcome.files.first?.key, "shard1/luminate/metrics_local/20261120_0_0_0/checksums.txt")
        XCTAssertEqual(Array(outcome.files.suffix(2).map(\.key)), ["schema/luminate/metrics.sql", "schema/luminate/metrics_local.sql"])
        for file in outcome.files {
            let stored = try store.checksum("\(fixture.id.text)/\(file.key)")
            XCTAssertEqual(stored, StoredFile(size: file.size, sha256: file.sha256), file.key)
        }
        XCTAssertEqual(try store.list(prefix: "\(fixture.id.text)/", delimiter: nil).objects.count, outcome.files.count, "nothing else in the store")
        XCTAssertEqual(try store.read("\(fixture.id.text)/schema/luminate/metrics_local.sql").map { String(decoding: $0, as: UTF8.self) },
                       "CREATE TABLE luminate.metrics_local (timestamp DateTime) ENGINE = ReplicatedMergeTree;\n")
        XCTAssertEqual(outcome.sizeBytes, outcome.files.reduce(0) { $0 + $1.size })

        for node in fixture.nodes.nodes { XCTAssertEqual(fixture.shadowLeft(node), [], node.address) }
        XCTAssertEqual(reports.last, BackupProgressReport(files: 12, bytes: outcome.files.dropLast(2).reduce(0) { $0 + $1.size }, phase: "uploading"))
        XCTAssertEqual(reports.all.first?.phase, "freezing")

        let freeze = fixture.journal.events.first { $0.step == "freeze luminate.metrics_local on shard 1 (127.0.0.1:9011)" }
        XCTAssertEqual(freeze?.evidence["statements"], [.string("ALTER TABLE `luminate`.`metrics_local` FREEZE WITH NAME '\(name)'")])
        XCTAssertEqual(freeze?.evidence["parts"], 2)
        XCTAssertEqual(freeze?.evidence["rows"], 2021)
        let located = fixture.journal.events.first { $0.step == "locate the data of shard 2 (127.0.0.1:9021)" }
        XCTAssertEqual(located?.evidence["dataDirectory"], .string(s2.root))
        let removed = fixture.journal.events.first { $0.step == "remove shadow directory \(name) on shard 2 (127.0.0.1:9021)" }
        XCTAssertEqual(removed?.evidence["removed"]?["files"], 6)
    }

    func testPrefersReplicaOneAndTakesTheNextWhenItDoesNotAnswer() throws {
        let fixture = try FreezeFixture(days: 1) { $0.node(shard: 2, replica: 1).reachable = false }
        let outcome = try fixture.engine().run(fixture.request(), store: LocalDirectoryStore(root: fixture.storeRoot),
                                               session: fixture.session, progress: { _ in })
        XCTAssertEqual(outcome.cluster?.shards.map(\.replica), ["127.0.0.1:9011", "127.0.0.1:9022"])
        XCTAssertFalse(fixture.nodes.received.contains { $0.hasPrefix("9012:") }, "replica 2 of shard 1 is not needed")
        XCTAssertTrue(fixture.nodes.received.contains("9022: ALTER TABLE `luminate`.`metrics_local` FREEZE WITH NAME 'luminatectl_20261130T140500Z'"))
        XCTAssertFalse(fixture.nodes.received.contains { $0.hasPrefix("9021: ALTER") })

        let attempts = fixture.journal.events.first?.evidence["attempts"]?.array ?? []
        XCTAssertEqual(attempts.count, 3)
        XCTAssertEqual(attempts[1]["address"], "127.0.0.1:9021")
        XCTAssertTrue(attempts[1]["failure"]?.string?.contains("Connection refused") == true, "\(attempts[1])")
        XCTAssertEqual(attempts[2]["version"], "18.16.1")
        for node in fixture.nodes.nodes { XCTAssertEqual(fixture.shadowLeft(node), []) }
    }

    func testAShardWithoutAnAnsweringReplicaStopsTheBackupBeforeAnyFreeze() throws {
        let fixture = try FreezeFixture(days: 1) {
            $0.node(shard: 2, replica: 1).reachable = false
            $0.node(shard: 2, replica: 2).reachable = false
        }
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(), store: LocalDirectoryStore(root: fixture.storeRoot),
                                                      session: fixture.session, progress: { _ in })) { error in
            guard case .noReachableReplica(let cluster, let shard, let failures) = error as? FreezeBackupError else { return XCTFail("\(error)") }
            XCTAssertEqual(cluster, "luminate")
            XCTAssertEqual(shard, 2)
            XCTAssertEqual(failures.count, 2)
            XCTAssertTrue(failures[0].hasPrefix("replica 1 (127.0.0.1:9021): "), failures[0])
        }
        XCTAssertFalse(fixture.nodes.statements.contains { $0.hasPrefix("ALTER") })
    }

    func testOnlyLeftoversOfLuminatectlAreRemovedAndTheyAreJournaled() throws {
        let fixture = try FreezeFixture(days: 1)
        let node = fixture.nodes.node(shard: 1, replica: 1)
        let stale = node.root + "shadow/luminatectl_20261101T000000Z/data/luminate/metrics_local/20261101_0_0_0/"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        try writeFile(stale + "count.txt", Data("42".utf8))
        for other in ["1", "clickhouse_backup_x"] {
            try FileManager.default.createDirectory(atPath: node.root + "shadow/" + other, withIntermediateDirectories: true)
        }
        try writeFile(node.root + "shadow/increment.txt", Data("1".utf8))

        _ = try fixture.engine().run(fixture.request(), store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session,
                                     progress: { _ in })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: node.root + "shadow").sorted(), ["1", "clickhouse_backup_x", "increment.txt"])
        let step = fixture.journal.events.first { $0.step == "remove stale shadow directories on shard 1 (127.0.0.1:9011)" }
        XCTAssertEqual(step?.evidence["removed"], [["path": .string(node.root + "shadow/luminatectl_20261101T000000Z/"), "files": 1, "bytes": 2]])
        let other = fixture.journal.events.first { $0.step == "remove stale shadow directories on shard 2 (127.0.0.1:9021)" }
        XCTAssertEqual(other?.evidence["removed"], [])
    }

    func testAFailedUploadStopsTheRestAndRemovesEveryShadowDirectory() throws {
        let fixture = try FreezeFixture(days: 3)
        let store = ScriptedStore(root: fixture.storeRoot, beforeUpload: { number in
            if number == 5 { throw BackupStoreError(location: "fake", key: nil, reason: "connection reset") }
        })
        XCTAssertThrowsError(try fixture.engine(width: 2).run(fixture.request(), store: store, session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? BackupStoreError, BackupStoreError(location: "fake", key: nil, reason: "connection reset"))
        }
        XCTAssertLessThan(store.uploads, 9, "uploads stop once one failed (2 running at a time)")
        for node in fixture.nodes.nodes { XCTAssertEqual(fixture.shadowLeft(node), [], node.address) }
        XCTAssertEqual(fixture.steps.last, "freeze luminate.metrics_local on shard 2 (127.0.0.1:9021)")
        let cleanup = fixture.session.takeEvidence()["shadowCleanup"]?.array ?? []
        XCTAssertEqual(cleanup.compactMap { $0["replica"]?.string }, ["shard 1 (127.0.0.1:9011)", "shard 2 (127.0.0.1:9021)"])
        XCTAssertEqual(cleanup.first?["files"], 9)
    }

    func testCtrlCBetweenFilesRemovesEveryShadowDirectoryBeforeTheErrorPropagates() throws {
        let fixture = try FreezeFixture(days: 3)
        let interrupt = fixture.context.interrupt
        let store = ScriptedStore(root: fixture.storeRoot, afterUpload: { number in
            if number == 3 { interrupt.raise(SIGINT) }
        })
        XCTAssertThrowsError(try fixture.engine(width: 1).run(fixture.request(), store: store, session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? OperationInterrupted,
                           OperationInterrupted(signal: SIGINT, step: "upload shard 1 (127.0.0.1:9011) to \(fixture.storeRoot)/"))
        }
        XCTAssertEqual(store.uploads, 3)
        for node in fixture.nodes.nodes { XCTAssertEqual(fixture.shadowLeft(node), [], node.address) }
        XCTAssertEqual(fixture.session.takeEvidence()["shadowCleanup"]?.array?.count, 2)
    }

    func testCtrlCDuringTheFreezesStillRemovesWhatWasFrozen() throws {
        let fixture = try FreezeFixture(days: 1)
        let interrupt = fixture.context.interrupt
        // Ctrl-C while shard 1's FREEZE step runs: shard 2 is never frozen.
        fixture.nodes.onStatement = { port, sql in
            if port == 9011, sql.hasPrefix("SELECT name, partition_id") { interrupt.raise(SIGINT) }
        }
        let store = ScriptedStore(root: fixture.storeRoot)
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(), store: store, session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? OperationInterrupted, OperationInterrupted(signal: SIGINT, step: "freeze luminate.metrics_local on shard 2 (127.0.0.1:9021)"))
        }
        XCTAssertEqual(store.uploads, 0)
        XCTAssertEqual(fixture.nodes.statements.filter { $0.hasPrefix("ALTER") }.count, 1)
        for node in fixture.nodes.nodes { XCTAssertEqual(fixture.shadowLeft(node), [], node.address) }
    }

    func testRefusesDataThatIsNotOnThisMachineBeforeChangingAnything() throws {
        let fixture = try FreezeFixture(days: 1) { nodes in
            let node = nodes.node(shard: 2, replica: 1)
            node.root = "/nonexistent-luminatectl-remote/clickhouse/"
        }
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(), store: LocalDirectoryStore(root: fixture.storeRoot),
                                                      session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeBackupError, .dataNotLocal(replica: "127.0.0.1:9021", path: "/nonexistent-luminatectl-remote/clickhouse/"))
            let text = String(describing: error)
            XCTAssertTrue(text.contains("must run beside the server"), text)
            XCTAssertTrue((error as? OperatorError)?.hint?.contains("--engine native (ClickHouse 22.8+)") == true)
        }
        XCTAssertFalse(fixture.nodes.statements.contains { $0.hasPrefix("ALTER") }, "no server was changed")
        XCTAssertEqual(fixture.steps.last, "locate the data of shard 1 (127.0.0.1:9011)")
    }

    func testRefusesIncrementalBackupsWithoutSendingAnything() throws {
        let fixture = try FreezeFixture(days: 1)
        let base = BackupFixtures.manifest("20261129T020000Z", engine: .freeze)
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(base: base), store: LocalDirectoryStore(root: fixture.storeRoot),
                                                      session: fixture.session, progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeBackupError, .incrementalNotSupported(base: "20261129T020000Z"))
            XCTAssertEqual(String(describing: error), "the freeze engine takes full backups only: an incremental backup on 20261129T020000Z needs the native engine")
            XCTAssertEqual((error as? OperatorError)?.exitCode, .usage)
        }
        XCTAssertEqual(fixture.nodes.received, [])
        XCTAssertEqual(fixture.engine().describe(fixture.request(base: base)),
                       ["refused: the freeze engine takes full backups only: an incremental backup on 20261129T020000Z needs the native engine"])
    }

    func testOneServerNamedTablesAndPartitions() throws {
        let fixture = try FreezeFixture(days: 3)
        let outcome = try fixture.engine().run(
            fixture.request(cluster: nil, tables: ["luminate.metrics_local"], partitions: ["20261121", "20261122", "20261121", "20990101"]),
            store: LocalDirectoryStore(root: fixture.storeRoot), session: fixture.session, progress: { _ in })
        XCTAssertNil(outcome.cluster)
        XCTAssertEqual(outcome.tables.map(\.table), ["metrics_local"])
        XCTAssertEqual(outcome.tables[0].partitions.map(\.id), ["20261121", "20261122"], "a partition the table lacks freezes nothing")
        XCTAssertEqual(fixture.nodes.statements.filter { $0.hasPrefix("ALTER") }, [
            "ALTER TABLE `luminate`.`metrics_local` FREEZE PARTITION ID '20261121' WITH NAME 'luminatectl_20261130T140500Z'",
            "ALTER TABLE `luminate`.`metrics_local` FREEZE PARTITION ID '20261122' WITH NAME 'luminatectl_20261130T140500Z'",
            "ALTER TABLE `luminate`.`metrics_local` FREEZE PARTITION ID '20990101' WITH NAME 'luminatectl_20261130T140500Z'",
        ])
        XCTAssertEqual(Set(fixture.nodes.received.map { $0.prefix(5) }), ["9011:"], "only the configured server")
        XCTAssertEqual(fixture.steps.first, "check clickhouse 127.0.0.1:9011")
        XCTAssertEqual(outcome.files.filter { $0.key.hasPrefix("schema/") }.map(\.key), ["schema/luminate/metrics_local.sql"])
    }

    func testAPartMergedAwaySinceTheFreezeIsCountedFromItsFiles() throws {
        let fixture = try FreezeFixture(days: 2) { $0.node(shard: 1, replica: 1).forgotten = ["20261121_0_0_0"] }
        let outcome = try fixture.engine().run(fixture.request(), store: LocalDirectoryStore(root: fixture.storeRoot),
                                               session: fixture.session, progress: { _ in })
        let shard1 = outcome.tables[1].partitions.filter { $0.shard == 1 }
        let part = fixture.nodes.node(shard: 1, replica: 1).parts[1]
        XCTAssertEqual(shard1.last, PartitionBackup(shard: 1, id: "20261121", rows: 1011, bytes: FakeClickHouseNodes.Node.bytes(of: part)))
        let freeze = fixture.journal.events.first { $0.step == "freeze luminate.metrics_local on shard 1 (127.0.0.1:9011)" }
        XCTAssertEqual(freeze?.evidence["countedFromFiles"], ["20261121_0_0_0"])
    }

    func testTablesOfAnotherDatabaseAndUnknownTablesAreRefused() throws {
        let fixture = try FreezeFixture(days: 1)
        let store = LocalDirectoryStore(root: fixture.storeRoot)
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(tables: ["other.metrics_local"]), store: store, session: fixture.session,
                                                      progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeBackupError, .tableOutsideDatabase(table: "other.metrics_local", database: "luminate"))
        }
        XCTAssertThrowsError(try fixture.engine().run(fixture.request(tables: ["luminate.nope"]), store: store, session: fixture.session,
                                                      progress: { _ in })) { error in
            XCTAssertEqual(error as? FreezeBackupError, .unknownTables(["luminate.nope"], database: "luminate", replica: "127.0.0.1:9011"))
        }
    }

    func testDescribeNamesEveryStatementAndTheStoreLayout() throws {
        let fixture = try FreezeFixture(days: 1)
        let name = "luminatectl_20261130T140500Z"
        XCTAssertEqual(fixture.engine().describe(fixture.request()), [
            "on 127.0.0.1:9011: SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = 'luminate' ORDER BY shard_num, replica_num",
            "on each replica of each shard, replica 1 first, until one answers: SELECT version() AS version",
            "on the replica of shard 1: SELECT name, engine FROM system.tables WHERE database = 'luminate' ORDER BY name",
            "on the replica of shard 1: SHOW CREATE TABLE `luminate`.<table>",
            "on the replica of each shard: SELECT table, groupUniqArray(replaceRegexpOne(path, '[^/]+/$', '')) AS directories, any(path) AS part FROM system.parts WHERE active AND database = 'luminate' AND table IN ('<table>') GROUP BY table ORDER BY table (the data directory <root> must be on this machine)",
            "on the replica of each shard: remove <root>/shadow/luminatectl_* (left by runs that were killed)",
            "on the replica of each shard: ALTER TABLE `luminate`.<table> FREEZE WITH NAME '\(name)'",
            "on the replica of each shard: SELECT name, partition_id, rows, bytes_on_disk FROM system.parts WHERE database = 'luminate' AND table = '<table>' AND name IN (<frozen parts>) ORDER BY name",
            "upload <root>/shadow/\(name)/data/luminate/<table>/<part>/<file> to 20261130T140500Z/shard<N>/luminate/<table>/<part>/<file>, 4 at a time, SHA-256 while reading",
            "on the replica of each shard: remove <root>/shadow/\(name)/ (after a failure or Ctrl-C too)",
            "write each table's SHOW CREATE TABLE to 20261130T140500Z/schema/luminate/<table>.sql",
            "tables that are not MergeTree (Distributed, views): the schema only",
        ])
        let named = fixture.engine().describe(fixture.request(cluster: nil, tables: ["luminate.metrics_local"], partitions: ["20261121"]))
        XCTAssertEqual(named.filter { $0.contains("ALTER") },
                       ["on 127.0.0.1:9011: ALTER TABLE `luminate`.`metrics_local` FREEZE PARTITION ID '20261121' WITH NAME '\(name)'"])
        XCTAssertEqual(named.first, "on 127.0.0.1:9011 (shard 1): SELECT version() AS version")
        XCTAssertEqual(fixture.nodes.received, [], "describing sends nothing")
    }

    // MARK: - Layout

    func testTableDirectoriesSplitIntoRootAndRelativePathInBothLayouts() {
        XCTAssertEqual(FreezeLayout.splitTableDirectory("/var/lib/clickhouse/data/luminate/metrics_local/").map { [$0.dataRoot, $0.relative] },
                       ["/var/lib/clickhouse/", "data/luminate/metrics_local/"])
        XCTAssertEqual(FreezeLayout.splitTableDirectory("/var/lib/clickhouse/store/3f2/3f2a6c1e-0000-4000-8000-000000000001/").map { [$0.dataRoot, $0.relative] },
                       ["/var/lib/clickhouse/", "store/3f2/3f2a6c1e-0000-4000-8000-000000000001/"])
        XCTAssertEqual(FreezeLayout.splitTableDirectory("/data/db/t/").map { [$0.dataRoot, $0.relative] }, ["/", "data/db/t/"])
        XCTAssertNil(FreezeLayout.splitTableDirectory("relative/data/db/t/"))
        XCTAssertNil(FreezeLayout.splitTableDirectory("/db/t/"))
        XCTAssertNil(FreezeLayout.splitTableDirectory("/x/data/../t/"))
        XCTAssertEqual(FreezeLayout.partitionID(ofPart: "20261126_3_7_1"), "20261126")
        XCTAssertEqual(FreezeLayout.dataKey(BackupID("20261130T140500Z")!, shard: 2, database: "luminate", table: "metrics_local",
                                            part: "20261126_3_7_1", file: "value.bin"),
                       "20261130T140500Z/shard2/luminate/metrics_local/20261126_3_7_1/value.bin")
    }
}

/// Progress reports as the engine sent them.
private final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [BackupProgressReport] = []

    var add: @Sendable (BackupProgressReport) -> Void { { report in self.lock.withLock { self.reports.append(report) } } }
    var all: [BackupProgressReport] { lock.withLock { reports } }
    var last: BackupProgressReport? { all.last }
}
