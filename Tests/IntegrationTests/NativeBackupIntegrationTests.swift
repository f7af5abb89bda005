import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `backup` with the native engine against the sandbox's modern node (ClickHouse 26.9's engine)
/// and its S3: BACKUP ... ASYNC to the node's `backups` disk, which is the store luminatectl
/// reads. ON CLUSTER is covered by recorded responses (NativeEngineTests): the node is single.
final class NativeBackupIntegrationTests: XCTestCase {
    private struct PartitionRow: Decodable { var partition_id: String; var rows: FlexibleUInt64 }

    private func create(_ h: BackupHarness, _ extra: [String] = []) throws -> BackupManifest {
        let result = h.run(["backup", "create", "-o", "json"] + extra)
        XCTAssertEqual(result.code, .success, result.err)
        let manifest = try BackupManifest.decode(Data(result.out.utf8))
        XCTAssertEqual(manifest.engine, .native)
        return manifest
    }

    func testFullBackupListedVerifiedAndDamageNamed() throws {
        let h = try BackupHarness.modern()
        let manifest = try create(h)

        // Rows per partition as the live table has them (nothing writes to it meanwhile).
        let live = try h.clickhouse().query(
            "SELECT partition_id, sum(rows) AS rows FROM system.parts WHERE active AND database = 'luminate' AND table = 'metrics' GROUP BY partition_id ORDER BY partition_id",
            as: PartitionRow.self)
        let metrics = try XCTUnwrap(manifest.tables.first { $0.table == "metrics" })
        XCTAssertEqual(metrics.partitions.map(\.id), live.map(\.partition_id))
        XCTAssertEqual(metrics.partitions.map(\.rows), live.map(\.rows.value))
        XCTAssertEqual(metrics.partitions.count, 60)
        XCTAssertEqual(metrics.rows, 120_000)
        XCTAssertTrue(metrics.createStatement.contains("PARTITION BY toYYYYMMDD(timestamp)"), metrics.createStatement)
        XCTAssertEqual(manifest.native?.destination, "Disk('backups', '\(h.folder)\(manifest.id)/')")
        XCTAssertGreaterThan(manifest.sizeBytes, 0)

        let list = h.run(["backup", "list", "-o", "json"])
        XCTAssertEqual(list.code, .success, list.err)
        let listed = try JSONValue.parse(Data(list.out.utf8))["backups"]?.array ?? []
        XCTAssertEqual(listed.count, 1)
        XCTAssertEqual(listed.first?["id"]?.string, manifest.id)
        XCTAssertEqual(listed.first?["status"]?.string, "complete")
        XCTAssertEqual(listed.first?["rows"]?.number, 120_000)

        let verified = h.run(["backup", "verify", manifest.id])
        XCTAssertEqual(verified.code, .success, verified.out + verified.err)
        XCTAssertTrue(verified.out.contains("Backup \(manifest.id) verified"), verified.out)

        // Remove one data file behind luminatectl's back: verify names it and fails.
        let store = try h.store()
        let data = try XCTUnwrap(store.list(prefix: "\(manifest.id)/", delimiter: nil).objects
            .first { $0.key.hasSuffix(".bin") || $0.key.contains("/data/") })
        try store.delete(data.key)
        let damaged = h.run(["backup", "verify", manifest.id, "-o", "json"])
        XCTAssertEqual(damaged.code, .failure)
        let report = try JSONValue.parse(Data(damaged.out.utf8))
        XCTAssertEqual(report["verdict"]?.string, "damaged")
        XCTAssertEqual(report["problems"]?.array?.compactMap { $0["key"]?.string }, [data.key])
        XCTAssertEqual(report["problems"]?[0]?["kind"]?.string, "missing")
    }

    func testIncrementalChainAndItsBaseProtected() throws {
        let h = try BackupHarness.modern()
        let full = try create(h)
        Thread.sleep(forTimeInterval: 1.1)  // ids are start times to the second
        let incremental = try create(h, ["--incremental-from", "latest"])
        XCTAssertEqual(incremental.base, full.id)
        XCTAssertEqual(incremental.type, .incremental)
        XCTAssertLessThan(try storedBytes(h, incremental.id), try storedBytes(h, full.id),
                          "an incremental of unchanged data stores far less than the full one")
        XCTAssertEqual(incremental.sizeBytes, try storedBytes(h, incremental.id) - UInt64(try h.store().stat(BackupLayout.manifestKey(incremental.id))!.size)
                       - UInt64(try h.store().stat(BackupLayout.startMarkerKey(incremental.id))!.size), "its size is what it adds to the store")
        XCTAssertEqual(h.run(["backup", "verify", incremental.id]).code, .success)

        let refused = h.run(["backup", "delete", full.id])
        XCTAssertEqual(refused.code, .failure)
        XCTAssertTrue(refused.err.contains("backup \(full.id) is the base of \(incremental.id)"), refused.err)
        XCTAssertNotNil(try h.store().stat(BackupLayout.manifestKey(full.id)), "nothing was deleted")

        // Newest first: the incremental (with --force: it is the newest complete backup), then the base.
        XCTAssertEqual(h.run(["backup", "delete", incremental.id]).code, .failure, "the newest needs --force")
        XCTAssertEqual(h.run(["backup", "delete", incremental.id, "--force"]).code, .success)
        let deleted = h.run(["backup", "delete", full.id, "--force"])
        XCTAssertEqual(deleted.code, .success, deleted.err)
        XCTAssertEqual(try h.store().list(prefix: "", delimiter: nil).objects, [])
        XCTAssertTrue(try h.journal().contains("\"kind\":\"backup.delete\""))
    }

    func testStatusAgainstTheRPOWithAClockTwoHoursLater() throws {
        let h = try BackupHarness.modern()
        let none = h.run(["backup", "status", "-o", "json"])
        XCTAssertEqual(none.code, .failure)
        XCTAssertEqual(try JSONValue.parse(Data(none.out.utf8))["verdict"]?.string, "no-backup")

        let manifest = try create(h)
        let now = h.run(["backup", "status"])
        XCTAssertEqual(now.code, .success, now.out)
        XCTAssertTrue(now.out.contains("RPO 1h: within the newest complete backup, \(manifest.id)"), now.out)

        let later = h.run(["backup", "status", "-o", "json"], clock: ManualClock(Date().addingTimeInterval(2 * 3600)))
        XCTAssertEqual(later.code, .failure)
        let json = try JSONValue.parse(Data(later.out.utf8))
        XCTAssertEqual(json["verdict"]?.string, "breached")
        XCTAssertEqual(json["newest"]?.string, manifest.id)
        XCTAssertGreaterThan(json["newestAgeSeconds"]?.number ?? 0, 7000)

        // The checklist's DP-1 reads the same catalogue.
        func dp1(_ clock: any TimeSource) throws -> String? {
            let run = h.run(["checklist", "run", "--live", "--only", "DP-1", "-o", "json"], clock: clock)
            return try JSONValue.parse(Data(run.out.utf8))["checks"]?.array?.first?["outcome"]?.string
        }
        XCTAssertEqual(try dp1(SystemClock()), "pass")
        XCTAssertEqual(try dp1(ManualClock(Date().addingTimeInterval(2 * 3600))), "fail")
    }

    func testAFailedBackupIsListedIncompleteAndReleasesTheLock() throws {
        // ClickHouse writes to its disk's folder, the store looks elsewhere: the backup is made
        // on the server but never proven in the store, so it must not count as complete.
        let h = try BackupHarness.modern()
        let result = h.run(["backup", "create"], environment: ["LUMINATECTL_BACKUP_DISK_PATH": "elsewhere-\(h.folder)"])
        XCTAssertEqual(result.code, .failure)
        XCTAssertTrue(result.err.contains("the store does not hold it"), result.err)
        let list = h.run(["backup", "list", "-o", "json"])
        let entries = try JSONValue.parse(Data(list.out.utf8))["backups"]?.array ?? []
        XCTAssertEqual(entries.compactMap { $0["status"]?.string }, ["incomplete"])
        XCTAssertEqual(h.run(["backup", "show", entries[0]["id"]!.string!]).code, .failure, "an incomplete backup has no manifest to show")
        XCTAssertEqual(h.run(["backup", "status"]).code, .failure, "and it does not count towards the RPO")
        let journal = try h.journal()
        XCTAssertTrue(journal.contains("\"event\":\"failed\""), journal)
        let lock = h.run(["lock", "status", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(Data(lock.out.utf8))["free"], .bool(true), lock.out)
        // It is cleaned like any incomplete backup.
        XCTAssertEqual(h.run(["backup", "delete", entries[0]["id"]!.string!]).code, .success)
    }

    private func storedBytes(_ h: BackupHarness, _ id: String) throws -> UInt64 {
        try h.store().list(prefix: "\(id)/", delimiter: nil).objects.reduce(0) { $0 + $1.size }
    }
}
