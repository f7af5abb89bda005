import Foundation

/// A table by its two names.
package struct QualifiedTable: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var database: String
    package var table: String

    package init(_ database: String, _ table: String) {
        self.database = database
        self.table = table
    }

    package var description: String { "\(database).\(table)" }
    package var sql: SQLFragment { get throws { try "\(table: database, table)" } }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}

/// What a restore asks an engine to do: put the backup's data of some partitions of one table
/// into an existing table (the staging copy, a scratch table, or for `--in-place` the live table
/// itself), on the primary replica of every shard.
package struct RestoreLoad: Sendable {
    package var manifest: BackupManifest
    /// The table as the manifest records it.
    package var source: TableBackup
    /// Partition ids to load, each held by the backup; never empty (the plan resolves "all").
    package var partitions: [String]
    /// The table the data goes into. It exists on every replica and, unless `allowNonEmpty`, holds
    /// no rows in those partitions.
    package var target: QualifiedTable
    package var servers: RestoreServers
    /// `--in-place --allow-non-empty`: load beside rows the target already holds.
    package var allowNonEmpty: Bool

    package init(manifest: BackupManifest, source: TableBackup, partitions: [String], target: QualifiedTable,
                 servers: RestoreServers, allowNonEmpty: Bool = false) {
        self.manifest = manifest
        self.source = source
        self.partitions = partitions
        self.target = target
        self.servers = servers
        self.allowNonEmpty = allowNonEmpty
    }

    /// Whether the request covers every partition the backup holds of the table.
    package var allPartitions: Bool { Set(partitions) == Set(source.partitions.map(\.id)) }
}

/// Progress of a load, for the live line.
package struct RestoreProgress: Sendable, Equatable {
    /// `downloading`, `checking`, `attaching`, `RESTORE running`.
    package var phase: String
    package var files: UInt64
    package var bytes: UInt64
    /// Bytes expected in all, when known.
    package var totalBytes: UInt64?

    package init(phase: String, files: UInt64, bytes: UInt64, totalBytes: UInt64? = nil) {
        self.phase = phase
        self.files = files
        self.bytes = bytes
        self.totalBytes = totalBytes
    }
}

/// One way of reading a backup back: native `RESTORE ... AS target FROM Disk(...)`, or the freeze
/// engine's download into `detached/` and `ATTACH PARTITION`. An engine only loads; the plan
/// creates the target, counts what arrived, and moves it into place.
package protocol RestoreEngine: Sendable {
    var kind: BackupEngineKind { get }
    /// What `--dry-run` prints for one load: the statements and transfers, in order.
    func describe(_ load: RestoreLoad) -> [String]
    /// Loads the data. Works through `session.step`, so each stage is journaled with its
    /// evidence; stops at a Ctrl-C between files or polls. An engine that can check the data's
    /// integrity before it reaches the server (freeze: every file's SHA-256 against the manifest)
    /// does so before attaching anything, and throws `RestoreIntegrityError` naming the file.
    func load(_ load: RestoreLoad, store: any BackupStore, session: OperationSession,
              progress: @escaping @Sendable (RestoreProgress) -> Void) throws
}

/// A file in the store that is not what the backup's manifest says it is.
package struct RestoreIntegrityError: OperatorError, Equatable {
    package var backup: String
    /// The key below the backup's folder, as the manifest lists it.
    package var file: String
    /// `SHA-256 is 5f3a..., the manifest says 9c1d...`, `missing`, `412 bytes, the manifest says 4,096`.
    package var problem: String

    package init(backup: String, file: String, problem: String) {
        self.backup = backup
        self.file = file
        self.problem = problem
    }

    package var description: String {
        "backup \(backup) is damaged: \(file): \(problem); nothing was attached and the live tables are untouched"
    }
    package var hint: String? { "luminatectl backup verify \(backup) checks every file; restore from another backup (luminatectl backup list)" }
}
