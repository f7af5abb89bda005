import Foundation
@testable import OpsKit

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "luminatectl-backup-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum BackupFixtures {
    static func manifest(
        _ id: String, engine: BackupEngineKind = .native, base: String? = nil,
        tables: [TableBackup]? = nil, size: UInt64 = 1000
    ) -> BackupManifest {
        let time = BackupID(id)!.time
        return BackupManifest(
            id: id, engine: engine, type: base == nil ? .full : .incremental, base: base, status: .complete,
            serverVersion: "26.9.2.1", cluster: nil,
            tables: tables ?? [TableBackup(
                database: "luminate", table: "metrics", engine: "MergeTree",
                createStatement: "CREATE TABLE luminate.metrics (ts DateTime) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts",
                partitions: [PartitionBackup(shard: 1, id: "20261126", rows: 2000, bytes: 500),
                             PartitionBackup(shard: 1, id: "20261127", rows: 1500, bytes: 400)])],
            snapshotAt: time, startedAt: time, finishedAt: time.addingTimeInterval(12), durationSeconds: 12,
            operationID: "op-\(id)", native: nil, files: [], sizeBytes: size)
    }

    /// Writes a complete backup (its manifest and one data file) into `store`.
    static func storeComplete(_ manifest: BackupManifest, in store: any BackupStore) throws {
        try store.write("\(manifest.id)/data/part.bin", data: Data(repeating: 7, count: 100))
        try store.write(BackupLayout.manifestKey(manifest.id), data: try manifest.encoded())
    }
}
