import Foundation

/// What to back up, decided by `backup create` before anything runs.
package struct BackupRequest: Sendable, Equatable {
    package var id: BackupID
    /// The database whose tables are backed up (the environment's `clickhouse.database`).
    package var database: String
    /// `db.table` names; empty means every table of `database`.
    package var tables: [String]
    /// ClickHouse partition ids (`20261126`); empty means all.
    package var partitions: [String]
    /// The backup an incremental one builds on (native only).
    package var base: BackupManifest?
    /// The ClickHouse cluster (`ON CLUSTER`, one replica per shard); nil for a single server.
    package var cluster: String?

    package init(id: BackupID, database: String, tables: [String] = [], partitions: [String] = [],
                 base: BackupManifest? = nil, cluster: String? = nil) {
        self.id = id
        self.database = database
        self.tables = tables
        self.partitions = partitions
        self.base = base
        self.cluster = cluster
    }
}

/// What an engine hands back: everything the manifest records that only the engine knows.
package struct BackupOutcome: Sendable, Equatable {
    package var serverVersion: String
    package var snapshotAt: Date
    package var cluster: BackupClusterLayout?
    package var tables: [TableBackup]
    package var native: NativeBackupDetails?
    package var files: [BackupFile]
    package var sizeBytes: UInt64

    package init(serverVersion: String, snapshotAt: Date, cluster: BackupClusterLayout?, tables: [TableBackup],
                 native: NativeBackupDetails?, files: [BackupFile], sizeBytes: UInt64) {
        self.serverVersion = serverVersion
        self.snapshotAt = snapshotAt
        self.cluster = cluster
        self.tables = tables
        self.native = native
        self.files = files
        self.sizeBytes = sizeBytes
    }
}

/// Progress of a running backup, for the live line and the 10-second log lines.
package struct BackupProgressReport: Sendable, Equatable {
    package var files: UInt64
    package var bytes: UInt64
    /// `freezing`, `uploading`, `BACKUP running`.
    package var phase: String

    package init(files: UInt64, bytes: UInt64, phase: String) {
        self.files = files
        self.bytes = bytes
        self.phase = phase
    }
}

/// One way of taking a backup. The plan calls `run` inside its own journaled steps; an engine
/// does its work through `session.step` so each stage (freeze, upload, cleanup / BACKUP, poll)
/// is journaled with its evidence, writes data only below `<id>/` in the store, and never writes
/// the manifest (the plan does, last).
package protocol BackupEngine: Sendable {
    var kind: BackupEngineKind { get }
    /// What `--dry-run` prints: the statements and transfers, in order.
    func describe(_ request: BackupRequest) -> [String]
    func run(_ request: BackupRequest, store: any BackupStore, session: OperationSession,
             progress: @escaping @Sendable (BackupProgressReport) -> Void) throws -> BackupOutcome
}
