import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The staged restore's decisions and its order of statements, with a scripted server and a
/// recording engine: nothing live is replaced before its replacement is verified.
final class RestorePlanTests: XCTestCase {
    private let manifest = RestoreFixtures.manifest()

    private func planner(_ server: ScriptedServer, mode: RestoreMode = .staged, selection: RestoreSelection = .init()) -> RestorePlanner {
        RestorePlanner(point: RestoreFixtures.point(manifest), mode: mode, selection: selection, servers: .single(server), database: "luminate")
    }

    func testPartitionsAreReplacedAddedOrLeftAloneWithTheirCounts() throws {
        let server = ScriptedServer("ch:8123")
        RestoreFixtures.expectLive(server, counts: [("20261125", 900), ("20261126", 1200)])
        let tables = try planner(server).tables()
        XCTAssertEqual(tables.count, 1)
        XCTAssertEqual(tables[0].partitions, [
            PartitionChange(id: "20261125", action: .leave, currentRows: 900, restoredRows: nil),
            PartitionChange(id: "20261126", action: .replace, currentRows: 1200, restoredRows: 2000),
            PartitionChange(id: "20261127", action: .add, currentRows: 0, restoredRows: 1500),
        ])
        XCTAssertEqual(server.pending, [])
    }

    func testOnlyTheNamedPartitionsAreRestored() throws {
        let server = ScriptedServer("ch:8123")
        RestoreFixtures.expectLive(server, counts: [("20261126", 1200)])
        let tables = try planner(server, selection: RestoreSelection(partitions: ["20261126"])).tables()
        XCTAssertEqual(tables[0].restoredIDs, ["20261126"])
        XCTAssertEqual(tables[0].partitions.first { $0.id == "20261127" }?.action, .leave)
    }

    func testAPartitionTheBackupLacksIsRefusedBeforeAnyRead() throws {
        let server = ScriptedServer("ch:8123")
        XCTAssertThrowsError(try planner(server, selection: RestoreSelection(partitions: ["20261001"])).tables()) { error in
            XCTAssertTrue("\(error)".contains("--partitions names 20261001, which backup 20261130T140500Z does not hold"), "\(error)")
        }
        XCTAssertEqual(server.sent, [])
    }

    func testALeftoverStagingDatabaseIsRefusedWithTheCleanupCommand() throws {
        let server = ScriptedServer("ch:8123")
        server.expect("FROM system.databases WHERE name = 'luminate_restore_20261130T140500Z'", rows: #"[{"name":"luminate_restore_20261130T140500Z"}]"#)
        XCTAssertThrowsError(try planner(server).tables()) { error in
            XCTAssertEqual((error as? RestoreRefused)?.hint, "inspect it, then remove it with: luminatectl restore cleanup 20261130T140500Z")
        }
    }

    func testInPlaceIntoATableThatHoldsRowsNamesAllowNonEmpty() throws {
        let server = ScriptedServer("ch:8123")
        server.expect("FROM system.tables WHERE database = 'luminate' AND name = 'metrics'", rows: #"[{"name":"metrics"}]"#)
        server.expect("SHOW CREATE TABLE", rows: #"[{"statement":"\#(RestoreFixtures.create)"}]"#)
        server.expect("FROM system.parts", rows: RestoreFixtures.counts([("20261126", 10)]))
        XCTAssertThrowsError(try planner(server, mode: .inPlace(allowNonEmpty: false)).tables()) { error in
            XCTAssertTrue("\(error)".contains("luminate.metrics holds 10 rows"), "\(error)")
            XCTAssertTrue((error as? RestoreRefused)?.hint?.contains("--allow-non-empty") ?? false)
        }
    }

    // MARK: - Execution

    private func plan(_ server: ScriptedServer, engine: RecordingRestoreEngine, tables: [TableRestore]) -> RestorePlan {
        RestorePlan(point: RestoreFixtures.point(manifest), mode: .staged, selection: .init(), tables: tables, engine: engine,
                    store: LocalDirectoryStore(root: ScratchDirectory().path), servers: .single(server))
    }

    private func decided() throws -> [TableRestore] {
        let server = ScriptedServer("ch:8123")
        RestoreFixtures.expectLive(server, counts: [("20261126", 1200)])
        return try planner(server).tables()
    }

    func testStagedRunVerifiesBeforeItReplacesAndDropsTheStagingDatabase() throws {
        let tables = try decided()
        let server = ScriptedServer("ch:8123")
        server.expect("CREATE DATABASE `luminate_restore_20261130T140500Z`")
        server.expect("CREATE TABLE `luminate_restore_20261130T140500Z`.`metrics`")
        server.expect("FROM system.parts WHERE active AND database = 'luminate_restore_20261130T140500Z'", rows: RestoreFixtures.counts([("20261126", 2000), ("20261127", 1500)]))
        server.expect("ALTER TABLE `luminate`.`metrics` REPLACE PARTITION ID '20261126' FROM `luminate_restore_20261130T140500Z`.`metrics`")
        server.expect("FROM system.parts WHERE active AND database = 'luminate' AND table = 'metrics'", rows: RestoreFixtures.counts([("20261126", 2000)]))
        server.expect("ALTER TABLE `luminate`.`metrics` REPLACE PARTITION ID '20261127' FROM `luminate_restore_20261130T140500Z`.`metrics`")
        server.expect("FROM system.parts WHERE active AND database = 'luminate' AND table = 'metrics'", rows: RestoreFixtures.counts([("20261126", 2000), ("20261127", 1500)]))
        server.expect("DROP DATABASE IF EXISTS `luminate_restore_20261130T140500Z`")
        let engine = RecordingRestoreEngine()
        let context = Context.fake()
        let code = try plan(server, engine: engine, tables: tables).execute(in: try SessionFixtures.session(context: context, kind: "restore"))
        XCTAssertEqual(code, .success)
        XCTAssertEqual(server.pending, [])
        XCTAssertEqual(engine.loads.map(\.target), [QualifiedTable("luminate_restore_20261130T140500Z", "metrics")])
        XCTAssertEqual(engine.loads.first?.partitions, ["20261126", "20261127"])
    }

    func testAStagingCopyThatDoesNotMatchTheManifestReplacesNothing() throws {
        let tables = try decided()
        let server = ScriptedServer("ch:8123")
        server.expect("CREATE DATABASE")
        server.expect("CREATE TABLE")
        server.expect("FROM system.parts", rows: RestoreFixtures.counts([("20261126", 2000), ("20261127", 1499)]))
        let context = Context.fake()
        XCTAssertThrowsError(try plan(server, engine: RecordingRestoreEngine(), tables: tables)
            .execute(in: try SessionFixtures.session(context: context, kind: "restore"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("partition 20261127 on shard 1: 1499 rows, the manifest says 1500"), text)
            XCTAssertTrue(text.contains("no live partition was replaced"), text)
            XCTAssertTrue(text.contains("database luminate_restore_20261130T140500Z is left for inspection"), text)
            XCTAssertEqual((error as? any OperatorError)?.hint, "remove it with: luminatectl restore cleanup 20261130T140500Z")
        }
        XCTAssertFalse(server.sent.contains { $0.contains("REPLACE PARTITION") })
    }

    func testCtrlCBetweenPartitionsStopsWithEachPartitionWhole() throws {
        let tables = try decided()
        let server = ScriptedServer("ch:8123")
        let context = Context.fake()
        server.expect("CREATE DATABASE")
        server.expect("CREATE TABLE")
        server.expect("FROM system.parts", rows: RestoreFixtures.counts([("20261126", 2000), ("20261127", 1500)]))
        server.expect("REPLACE PARTITION ID '20261126'")
        server.expect("FROM system.parts", rows: RestoreFixtures.counts([("20261126", 2000)]))
        server.onStatement = { sql in if sql.contains("REPLACE PARTITION ID '20261126'") { context.interrupt.raise(SIGINT) } }
        XCTAssertThrowsError(try plan(server, engine: RecordingRestoreEngine(), tables: tables)
            .execute(in: try SessionFixtures.session(context: context, kind: "restore"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("already replaced (each whole, from verified data): luminate.metrics partition 20261126"), text)
            XCTAssertEqual((error as? any OperatorError)?.exitCode, .interrupted)
        }
        XCTAssertFalse(server.sent.contains { $0.contains("'20261127' FROM") })
    }

    func testThePlanTextShowsEachChangedPartitionAndFoldsLongStretchesLeftAlone() throws {
        var tables = try decided()
        tables[0].partitions = (1...6).map { PartitionChange(id: "2026110\($0)", action: .leave, currentRows: 10, restoredRows: nil) }
            + [PartitionChange(id: "20261126", action: .replace, currentRows: 1200, restoredRows: 2000),
               PartitionChange(id: "20261127", action: .add, currentRows: 0, restoredRows: 1500),
               PartitionChange(id: "20261128", action: .leave, currentRows: 7, restoredRows: nil)]
        let text = RestoreText.table(tables[0])
        XCTAssertEqual(text, """
              luminate.metrics: 1 replace, 1 add, 7 leave alone
                PARTITION                  ACTION       CURRENT ROWS  RESTORED ROWS
                20261101 ... 20261106 (6)  leave alone  60            -
                20261126                   replace      1200          2000
                20261127                   add          0             1500
                20261128                   leave alone  7             -

            """)
    }

    func testTheStoreFailingDuringTheLoadReplacesNothingAndNamesTheStagingDatabase() throws {
        let tables = try decided()
        let server = ScriptedServer("ch:8123")
        server.expect("CREATE DATABASE")
        server.expect("CREATE TABLE")
        let engine = RecordingRestoreEngine()
        engine.failure = BackupStoreError(location: "s3://luminate-backups/clickhouse/", key: "20261130T140500Z/.backup",
                                          reason: "could not connect to 127.0.0.1:9 (connection refused)")
        XCTAssertThrowsError(try plan(server, engine: engine, tables: tables)
            .execute(in: try SessionFixtures.session(context: Context.fake(), kind: "restore"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("connection refused"), text)
            XCTAssertTrue(text.contains("no live partition was replaced"), text)
            XCTAssertTrue(text.contains("database luminate_restore_20261130T140500Z is left for inspection"), text)
        }
        XCTAssertEqual(server.pending, [])
        XCTAssertFalse(server.sent.contains { $0.contains("REPLACE PARTITION") })
    }
}
