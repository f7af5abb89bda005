import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The drill's verdict: rows against the manifest, the projection against the RTO, what it
/// records for `drill --list` and DP-3.
final class RestoreDrillPlanTests: XCTestCase {
    private let manifest = RestoreFixtures.manifest()
    private let scratch = "luminate_drill_20261130T140500Z"

    private func drill(_ server: ScriptedServer, engine: RecordingRestoreEngine, rto: Double) throws -> RestoreDrillPlan {
        server.expect("FROM system.databases WHERE name = '\(scratch)'")
        server.expect("FROM system.tables WHERE database = '\(scratch)' AND name = 'metrics'")
        let point = RestoreFixtures.point(manifest)
        let tables = try RestorePlanner(point: point, mode: .drill, selection: .init(), servers: .single(server), database: "luminate").tables()
        let restore = RestorePlan(point: point, mode: .drill, selection: .init(), tables: tables, engine: engine,
                                  store: LocalDirectoryStore(root: NSTemporaryDirectory()), servers: .single(server))
        return RestoreDrillPlan(restore: restore, rto: rto)
    }

    private func expectLoadAndCompare(_ server: ScriptedServer, scratchCounts: [(String, Int)]) {
        server.expect("CREATE DATABASE `\(scratch)`")
        server.expect("CREATE TABLE `\(scratch)`.`metrics`")
        server.expect("FROM system.parts WHERE active AND database = '\(scratch)'", rows: RestoreFixtures.counts(scratchCounts))
        // The live table has changed since the backup (other counts): no checksum to compare.
        server.expect("FROM system.parts WHERE active AND database = 'luminate'", rows: #"[{"partition_id":"20261126","rows":"1","newest":"0"}]"#)
    }

    func testAProjectionBeyondTheRTOFailsTheDrill() throws {
        let server = ScriptedServer("ch:8123")
        let context = Context.fake(clock: ManualClock("2026-11-30T16:00:00Z"))
        let clock = context.clock as! ManualClock
        let engine = RecordingRestoreEngine()
        engine.during = { clock.advance(by: 600) }
        let plan = try drill(server, engine: engine, rto: 300)
        expectLoadAndCompare(server, scratchCounts: [("20261126", 2000), ("20261127", 1500)])
        server.expect("DROP DATABASE IF EXISTS `\(scratch)`")
        let session = try SessionFixtures.session(context: context, kind: DrillRecords.kind)
        XCTAssertEqual(try plan.execute(in: session), .failure)
        let evidence = session.takeEvidence()
        XCTAssertEqual(evidence["verdict"]?.string, "fail")
        XCTAssertEqual(evidence["measuredSeconds"]?.number, 600)
        XCTAssertEqual(evidence["projectedSeconds"]?.number, 600, "the drill restored the whole backup: nothing to project")
        XCTAssertEqual(evidence["problems"]?.array?.compactMap(\.string), ["the projected restore of the whole backup takes 10m, more than the RTO of 5m"])
        XCTAssertEqual(server.pending, [])
    }

    func testRowsThatDoNotMatchFailTheDrillAndKeepTheScratchDatabase() throws {
        let server = ScriptedServer("ch:8123")
        let context = Context.fake()
        let plan = try drill(server, engine: RecordingRestoreEngine(), rto: 14400)
        expectLoadAndCompare(server, scratchCounts: [("20261126", 2000), ("20261127", 1400)])
        let session = try SessionFixtures.session(context: context, kind: DrillRecords.kind)
        XCTAssertEqual(try plan.execute(in: session), .failure)
        let evidence = session.takeEvidence()
        XCTAssertEqual(evidence["verdict"]?.string, "fail")
        XCTAssertEqual(evidence["problems"]?.array?.first?.string,
                       "\(scratch).metrics: partition 20261127 on shard 1: 1400 rows, the manifest says 1500")
        XCTAssertFalse(server.sent.contains { $0.contains("DROP DATABASE") }, "kept for inspection")
    }

    func testAProjectionScalesTheDrillsRateToTheWholeBackup() {
        let projection = DrillProjection(measuredSeconds: 10, restoredBytes: 1_000, fullBytes: 100_000, rto: 14400)
        XCTAssertEqual(projection.bytesPerSecond, 100)
        XCTAssertEqual(projection.projectedSeconds, 1000)
        XCTAssertTrue(projection.withinRTO)
    }
}
