import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `restore` with the freeze engine on the 18.16 2×2 cluster: a database of the test's own with a
/// ReplicatedMergeTree table and a Distributed table over it, read through the Distributed table.
final class RestoreClusterIntegrationTests: XCTestCase {
    private func env(_ f: RestoreFixture) -> [String: String] { ["LUMINATECTL_CLICKHOUSE_DATABASE": f.database] }

    private func backup(_ h: BackupHarness, _ f: RestoreFixture) throws -> BackupManifest {
        let result = h.run(["backup", "create", "-o", "json"], environment: env(f))
        XCTAssertEqual(result.code, .success, result.err)
        let manifest = try BackupManifest.decode(Data(result.out.utf8))
        XCTAssertEqual(manifest.engine, .freeze)
        return manifest
    }

    /// Both replicas of each shard hold the same rows.
    private func assertReplicasEqual(_ f: RestoreFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        try f.syncReplicas()
        for shard in [1, 2] {
            let replicas = f.servers.filter { $0.shard == shard }
            XCTAssertEqual(try f.local(replicas[0].client), try f.local(replicas[1].client), "shard \(shard)", file: file, line: line)
        }
    }

    func testStagedRestoreThroughTheDistributedTableKeepsReplicasEqual() throws {
        let f = try RestoreFixture.cluster()
        let h = try BackupHarness.cluster()
        let before = try f.partitions()
        XCTAssertEqual(before.count, 5)
        let manifest = try backup(h, f)

        let damaged = ["20261102", "20261103", "20261104"]
        try f.damage(damaged)
        try f.insert(days: 1, rows: 400, start: "2026-11-21")
        let added = try XCTUnwrap(try f.partitions()["20261121"])

        let dry = h.run(["restore", manifest.id, "--dry-run"], environment: env(f))
        XCTAssertEqual(dry.code, .success, dry.err)
        XCTAssertTrue(dry.out.contains("\(f.database).metrics_local: 5 replace, 1 leave alone"), dry.out)
        XCTAssertTrue(dry.out.contains("\(f.database).metrics: Distributed, no data"), dry.out)

        let result = h.run(["restore", manifest.id], environment: env(f))
        XCTAssertEqual(result.code, .success, result.out + result.err)
        var expected = before
        expected["20261121"] = added
        XCTAssertEqual(try f.partitions(), expected, "read through the Distributed table")
        try assertReplicasEqual(f)
        XCTAssertEqual(try f.databases(named: RestoreMode.stagingDatabase(manifest.id)), 0)
        let journal = try h.journal()
        XCTAssertTrue(journal.contains("wait for the other replicas to follow"), journal)
    }

    func testACorruptedObjectIsRefusedBeforeTheLiveTableIsTouched() throws {
        let f = try RestoreFixture.cluster(days: 3)
        let h = try BackupHarness.cluster()
        let manifest = try backup(h, f)
        try f.damage(["20261101"])
        let damaged = try f.partitions()

        let store = try h.store()
        let file = try XCTUnwrap(manifest.files.first { $0.key.contains("/20261101_") && $0.key.hasSuffix(".bin") })
        try store.write(BackupLayout.folder(manifest.id) + file.key, data: Data(repeating: 0x5A, count: Int(file.size)))

        let result = h.run(["restore", manifest.id], environment: env(f))
        XCTAssertEqual(result.code, .failure)
        XCTAssertTrue(result.err.contains(file.key), result.err)
        XCTAssertTrue(result.err.contains("nothing was attached"), result.err)
        XCTAssertTrue(result.err.contains("luminatectl restore cleanup \(manifest.id)"), result.err)
        XCTAssertEqual(try f.partitions(), damaged, "the live table is untouched")

        let cleanup = h.run(["restore", "cleanup", manifest.id], environment: env(f))
        XCTAssertEqual(cleanup.code, .success, cleanup.err)
        XCTAssertEqual(try f.databases(named: RestoreMode.stagingDatabase(manifest.id)), 0)
    }

    func testSIGINTMidRestoreLeavesEveryPartitionWholeAndNamesTheStagingDatabase() throws {
        let f = try RestoreFixture.cluster(days: 6, rows: 500)
        let h = try BackupHarness.cluster()
        let original = try f.partitions()
        let manifest = try backup(h, f)
        let ids = original.keys.sorted()
        try f.damage(ids)
        let damaged = try f.partitions()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: BackupHarness.binaryPath)
        process.arguments = ["restore", manifest.id]
        process.environment = h.environment.merging(env(f)) { _, new in new }
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Interrupt once the first partition is in place: the rest must stay as they were.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !((try? h.journal()) ?? "").contains("replace partition \(ids[0])") { usleep(20_000) }
        process.interrupt()
        process.waitUntilExit()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, err)
        XCTAssertTrue(err.contains(RestoreMode.stagingDatabase(manifest.id)), err)
        XCTAssertTrue(err.contains("luminatectl restore cleanup \(manifest.id)"), err)

        let after = try f.partitions()
        XCTAssertEqual(after[ids[0]], original[ids[0]], "the partition replaced before the interrupt is whole")
        for id in ids {
            XCTAssertTrue(after[id] == original[id] || after[id] == damaged[id], "partition \(id) is either as it was or fully restored")
        }
        XCTAssertTrue(ids.contains { after[$0] == damaged[$0] }, "the interrupt stopped the restore before the end")
        try assertReplicasEqual(f)
        XCTAssertTrue(try h.journal().contains("\"event\":\"interrupted\""))
        XCTAssertEqual(h.run(["restore", "cleanup", manifest.id], environment: env(f)).code, .success)
    }
}
