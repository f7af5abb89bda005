import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `restore` with the native engine against the sandbox's modern node: a database of the test's
/// own (RestoreFixture), backed up with `backup create`, damaged, and restored staged, beside, in
/// place, by time, and drilled.
final class RestoreModernIntegrationTests: XCTestCase {
    private func backup(_ h: BackupHarness, _ f: RestoreFixture, clock: any TimeSource = SystemClock(), _ extra: [String] = []) throws -> BackupManifest {
        let result = h.run(["backup", "create", "--tables", "\(f.database).metrics", "-o", "json"] + extra, clock: clock, environment: env(f))
        XCTAssertEqual(result.code, .success, result.err)
        return try BackupManifest.decode(Data(result.out.utf8))
    }

    private func env(_ f: RestoreFixture) -> [String: String] { ["LUMINATECTL_CLICKHOUSE_DATABASE": f.database] }

    func testStagedRestoreOfDamagedPartitionsLeavesTheAddedOneAlone() throws {
        let f = try RestoreFixture.modern()
        let h = try BackupHarness.modern()
        let before = try f.partitions()
        XCTAssertEqual(before.count, 5)
        let manifest = try backup(h, f)

        let damaged = ["20261101", "20261102", "20261103"]
        try f.damage(damaged)
        try f.insert(days: 1, rows: 300, start: "2026-11-20")
        let afterDamage = try f.partitions()
        for id in damaged { XCTAssertLessThan(afterDamage[id]![0], before[id]![0], id) }
        let added = try XCTUnwrap(afterDamage["20261120"])

        let dry = h.run(["restore", manifest.id, "--partitions", damaged.joined(separator: ","), "--dry-run", "-o", "json"], environment: env(f))
        XCTAssertEqual(dry.code, .success, dry.err)
        let plan = try JSONValue.parse(Data(dry.out.utf8))["plan"]
        let partitions = plan?["tables"]?[0]?["partitions"]?.array ?? []
        XCTAssertEqual(partitions.filter { $0["action"]?.string == "replace" }.compactMap { $0["id"]?.string }, damaged)
        XCTAssertEqual(partitions.filter { $0["action"]?.string == "leave alone" }.compactMap { $0["id"]?.string }, ["20261104", "20261105", "20261120"])
        XCTAssertEqual(partitions.first?["currentRows"]?.number, Double(afterDamage["20261101"]![0]))
        XCTAssertEqual(partitions.first?["restoredRows"]?.number, Double(before["20261101"]![0]))
        XCTAssertEqual(try f.partitions(), afterDamage, "a dry run changes nothing")

        let text = h.run(["restore", manifest.id, "--partitions", damaged.joined(separator: ",")], environment: env(f))
        XCTAssertEqual(text.code, .success, text.out + text.err)
        XCTAssertTrue(text.out.contains("3 replace, 3 leave alone"), text.out)
        XCTAssertTrue(text.out.contains("Restored backup \(manifest.id): 3 partitions"), text.out)

        var expected = before
        expected["20261120"] = added
        XCTAssertEqual(try f.partitions(), expected, "rows identical to before the damage, the added partition untouched")
        XCTAssertEqual(try f.databases(named: RestoreMode.stagingDatabase(manifest.id)), 0, "the staging database is gone")

        let journal = try h.journal()
        XCTAssertTrue(journal.contains("\"kind\":\"restore\""), journal)
        XCTAssertTrue(journal.contains("replace partition 20261102 of \(f.database).metrics"), journal)
        for secret in h.secrets { XCTAssertFalse((text.out + text.err + journal).contains(secret)) }
    }

    func testStructureMismatchRefusedWithTheDiffAndAMissingTableCreated() throws {
        let f = try RestoreFixture.modern(days: 2)
        let h = try BackupHarness.modern()
        let before = try f.partitions()
        let manifest = try backup(h, f)

        try f.execute("ALTER TABLE \(f.database).metrics ADD COLUMN region String")
        let refused = h.run(["restore", manifest.id], environment: env(f))
        XCTAssertEqual(refused.code, .failure)
        XCTAssertTrue(refused.err.contains("the structure of \(f.database).metrics differs from backup \(manifest.id); nothing was changed"), refused.err)
        XCTAssertTrue(refused.err.contains("+ region String"), refused.err)
        XCTAssertTrue(refused.err.contains("--tables"), refused.err)

        try f.execute("DROP TABLE \(f.database).metrics")
        let restored = h.run(["restore", manifest.id], environment: env(f))
        XCTAssertEqual(restored.code, .success, restored.out + restored.err)
        XCTAssertTrue(restored.out.contains("does not exist, created"), restored.out)
        XCTAssertEqual(try f.partitions(), before)
    }

    func testInPlaceRefusedOnANonEmptyTableAndLoadsAnEmptyOne() throws {
        let f = try RestoreFixture.modern(days: 2)
        let h = try BackupHarness.modern()
        let before = try f.partitions()
        let manifest = try backup(h, f)

        let unconfirmed = h.run(["restore", manifest.id, "--in-place"], environment: env(f))
        XCTAssertEqual(unconfirmed.code, .usage)
        let refused = h.run(["restore", manifest.id, "--in-place", "--yes"], environment: env(f))
        XCTAssertEqual(refused.code, .failure)
        XCTAssertTrue(refused.err.contains("--allow-non-empty"), refused.err)
        XCTAssertEqual(try f.partitions(), before)

        try f.execute("TRUNCATE TABLE \(f.database).metrics")
        let loaded = h.run(["restore", manifest.id, "--in-place", "--yes"], environment: env(f))
        XCTAssertEqual(loaded.code, .success, loaded.out + loaded.err)
        XCTAssertEqual(try f.partitions(), before)
    }

    func testToTimePicksAcrossAnIncrementalChainAndStatesTheExactGap() throws {
        let f = try RestoreFixture.modern(days: 2)
        let h = try BackupHarness.modern()
        let full = try backup(h, f, clock: ManualClock("2026-11-30T13:00:00Z"))
        try f.insert(days: 1, rows: 200, start: "2026-11-10")
        let incremental = try backup(h, f, clock: ManualClock("2026-11-30T14:05:00Z"), ["--incremental-from", "latest"])
        XCTAssertEqual(incremental.base, full.id)
        try f.insert(days: 1, rows: 100, start: "2026-11-11")
        _ = try backup(h, f, clock: ManualClock("2026-11-30T16:00:00Z"))
        let atIncremental = try f.partitions()
            .filter { $0.key != "20261111" }

        let picked = h.run(["restore", "--to-time", "2026-11-30T14:52:00Z", "--into-database", f.database + "_pit", "--dry-run", "-o", "json"],
                           clock: ManualClock("2026-11-30T17:00:00Z"), environment: env(f))
        XCTAssertEqual(picked.code, .success, picked.err)
        let plan = try XCTUnwrap(JSONValue.parse(Data(picked.out.utf8))["plan"])
        XCTAssertEqual(plan["backup"]?.string, "20261130T140500Z")
        XCTAssertEqual(plan["chain"]?.array?.compactMap(\.string), ["20261130T140500Z", "20261130T130000Z"])
        // The snapshot is when BACKUP started, a few (manual-clock) seconds after the id's time.
        let requested = try XCTUnwrap(JournalTime.parse("2026-11-30T14:52:00Z"))
        let gap = requested.timeIntervalSince(incremental.snapshotAt)
        XCTAssertEqual(plan["gapSeconds"]?.number, gap)
        XCTAssertEqual(plan["restoresTo"]?.string, JournalTime.format(incremental.snapshotAt))
        let statement = try XCTUnwrap(plan["statement"]?.string)
        XCTAssertTrue(statement.hasPrefix("restores to 2026-11-30 14:05"), statement)
        XCTAssertTrue(statement.hasSuffix("before the requested 14:52; ClickHouse keeps no log to replay, so data written in between is not recoverable from backups"), statement)
        let minutes = Int(gap) / 60, seconds = Int(gap) % 60
        XCTAssertTrue(statement.contains(seconds == 0 ? "\(minutes) minutes before" : "\(minutes) minutes \(seconds) seconds before"), statement)

        let relative = h.run(["restore", "--to-time", "2h ago", "--into-database", f.database + "_pit", "--dry-run", "-o", "json"],
                             clock: ManualClock("2026-11-30T16:30:00Z"), environment: env(f))
        XCTAssertEqual(relative.code, .success, relative.err)
        XCTAssertEqual(try JSONValue.parse(Data(relative.out.utf8))["plan"]?["backup"]?.string, "20261130T140500Z")

        // The incremental restores whole: ClickHouse reads its base from the store.
        let beside = h.run(["restore", "--to-time", "2026-11-30T14:52:00Z", "--into-database", f.database + "_pit"],
                           clock: ManualClock("2026-11-30T17:00:00Z"), environment: env(f))
        defer { try? f.first.execute("DROP DATABASE IF EXISTS \(f.database)_pit SYNC") }
        XCTAssertEqual(beside.code, .success, beside.out + beside.err)
        let pit = try f.partitions(on: f.first, table: nil)  // the live table still has everything
        XCTAssertEqual(pit.count, 4)
        struct Row: Decodable { var partition: String; var rows: FlexibleUInt64; var checksum: FlexibleUInt64 }
        let restored = try f.first.query(
            "SELECT toString(toYYYYMMDD(timestamp)) AS partition, count() AS rows, sum(cityHash64(*)) AS checksum FROM \(f.database)_pit.metrics GROUP BY partition ORDER BY partition",
            as: Row.self)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: restored.map { ($0.partition, [$0.rows.value, $0.checksum.value]) }), atIncremental)
    }

    func testADrillIsJournaledAndDP3PassesThenFails91DaysLater() throws {
        let f = try RestoreFixture.modern(days: 3)
        let h = try BackupHarness.modern()
        let manifest = try backup(h, f)

        let drill = h.run(["restore", "drill", "--backup", manifest.id], environment: env(f))
        XCTAssertEqual(drill.code, .success, drill.out + drill.err)
        XCTAssertTrue(drill.out.contains("Drill of backup \(manifest.id): PASS"), drill.out)
        XCTAssertEqual(try f.databases(named: RestoreMode.scratchDatabase(manifest.id)), 0, "the scratch database is dropped")

        let list = h.run(["restore", "drill", "--list", "-o", "json"], environment: env(f))
        XCTAssertEqual(list.code, .success, list.err)
        let drills = try JSONValue.parse(Data(list.out.utf8))["drills"]?.array ?? []
        XCTAssertEqual(drills.count, 1)
        XCTAssertEqual(drills.first?["backup"]?.string, manifest.id)
        XCTAssertEqual(drills.first?["verdict"]?.string, "pass")
        XCTAssertNotNil(drills.first?["projectedSeconds"]?.number)
        let journal = try h.journal()
        XCTAssertTrue(journal.contains("\"kind\":\"restore.drill\""), journal)
        XCTAssertTrue(journal.contains("\"compared\":[{"), "the unchanged live partitions were compared by checksum: \(journal)")

        let now = h.run(["checklist", "run", "--live", "--only", "DP-3", "-o", "json"], environment: env(f))
        XCTAssertEqual(now.code, .success, now.out + now.err)
        let later = h.run(["checklist", "run", "--live", "--only", "DP-3", "-o", "json"],
                          clock: PinnedClock(Date().addingTimeInterval(91 * 86400)), environment: env(f))
        XCTAssertEqual(later.code, .failure, later.out + later.err)
        XCTAssertTrue(later.out.contains("no successful restore drill in the last 90 days"), later.out)
    }
}
