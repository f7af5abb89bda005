import Foundation

/// What luminatectl writes beside every backup, last: the proof that the backup is complete and
/// the description a restore works from. The store holds it, not `system.backups` (which lives in
/// a server's memory and is gone after a restart), so `backup list` works from a new machine with
/// nothing but the store's credentials. No secret is ever part of it.
package struct BackupManifest: Codable, Sendable, Equatable {
    /// Bumped when a reader of an older format could misread a newer one.
    package static let currentFormat = 1

    package var format: Int = BackupManifest.currentFormat
    package var id: String
    package var engine: BackupEngineKind
    /// `full`, or `incremental` on top of `base`.
    package var type: BackupType
    /// The backup this one is incremental to (native `base_backup`); nil for a full backup.
    package var base: String?
    package var status: BackupStatus
    /// `SELECT version()` of the server that was backed up.
    package var serverVersion: String
    /// The ClickHouse cluster backed up, and from which replica of each shard; nil for a single
    /// server.
    package var cluster: BackupClusterLayout?
    package var tables: [TableBackup]
    /// The point in time the data represents: when the freeze or the BACKUP statement started.
    package var snapshotAt: Date
    package var startedAt: Date
    package var finishedAt: Date
    package var durationSeconds: Double
    /// The journal operation that took it.
    package var operationID: String
    /// What ClickHouse reported (native engine): its backup id, files and bytes.
    package var native: NativeBackupDetails?
    /// Every file luminatectl uploaded itself (freeze engine), with size and SHA-256.
    package var files: [BackupFile]
    /// Bytes in the store (native: ClickHouse's total_size; freeze: the files' sum).
    package var sizeBytes: UInt64

    package var rows: UInt64 { tables.reduce(0) { $0 + $1.rows } }
    package var backupID: BackupID? { BackupID(id) }
}

package enum BackupEngineKind: String, Codable, Sendable, CaseIterable {
    /// `BACKUP ... TO Disk(...)` (ClickHouse 22.8+), the production path.
    case native
    /// `ALTER TABLE ... FREEZE` and an upload of the frozen parts, for servers without BACKUP.
    case freeze
}

package enum BackupType: String, Codable, Sendable {
    case full
    case incremental
}

package enum BackupStatus: String, Codable, Sendable {
    case complete
}

package struct BackupClusterLayout: Codable, Sendable, Equatable {
    package var name: String
    /// One entry per shard: the replica whose data was taken.
    package var shards: [ShardSource]

    package init(name: String, shards: [ShardSource]) {
        self.name = name
        self.shards = shards
    }
}

package struct ShardSource: Codable, Sendable, Equatable {
    package var shard: Int
    /// `host:port` of the replica backed up.
    package var replica: String
    package var replicas: Int

    package init(shard: Int, replica: String, replicas: Int) {
        self.shard = shard
        self.replica = replica
        self.replicas = replicas
    }
}

/// One table as it was backed up.
package struct TableBackup: Codable, Sendable, Equatable {
    package var database: String
    package var table: String
    package var engine: String
    /// `SHOW CREATE TABLE` at backup time: what a restore creates when the table is missing, and
    /// compares with when it exists.
    package var createStatement: String
    package var partitions: [PartitionBackup]

    package init(database: String, table: String, engine: String, createStatement: String, partitions: [PartitionBackup]) {
        self.database = database
        self.table = table
        self.engine = engine
        self.createStatement = createStatement
        self.partitions = partitions
    }

    package var qualifiedName: String { "\(database).\(table)" }
    package var rows: UInt64 { partitions.reduce(0) { $0 + $1.rows } }
    package var bytes: UInt64 { partitions.reduce(0) { $0 + $1.bytes } }
}

/// One partition of one shard. Counted from the parts that were frozen (freeze), or from
/// `system.parts` just before and just after the BACKUP statement (native): when writes landed in
/// between, `rowsUpperBound` holds the second count and the backup holds something in that range.
package struct PartitionBackup: Codable, Sendable, Equatable {
    package var shard: Int
    /// ClickHouse's `partition_id` (`20261126`).
    package var id: String
    package var rows: UInt64
    package var bytes: UInt64
    package var rowsUpperBound: UInt64?

    package init(shard: Int, id: String, rows: UInt64, bytes: UInt64, rowsUpperBound: UInt64? = nil) {
        self.shard = shard
        self.id = id
        self.rows = rows
        self.bytes = bytes
        self.rowsUpperBound = rowsUpperBound
    }
}

package struct NativeBackupDetails: Codable, Sendable, Equatable {
    /// The destination as ClickHouse was given it: `Disk('backups', 'luminate/20261130T140500Z/')`.
    package var destination: String
    /// The id in `system.backups` (a UUID), for the server's own logs.
    package var clickhouseBackupID: String
    package var files: UInt64
    package var totalSize: UInt64

    package init(destination: String, clickhouseBackupID: String, files: UInt64, totalSize: UInt64) {
        self.destination = destination
        self.clickhouseBackupID = clickhouseBackupID
        self.files = files
        self.totalSize = totalSize
    }
}

/// A file luminatectl put in the store, relative to the backup's folder.
package struct BackupFile: Codable, Sendable, Equatable {
    package var key: String
    package var size: UInt64
    package var sha256: String

    package init(key: String, size: UInt64, sha256: String) {
        self.key = key
        self.size = size
        self.sha256 = sha256
    }
}

extension BackupManifest {
    package func encoded() throws -> Data { try StoreJSON.encode(self) }
    package static func decode(_ data: Data) throws -> BackupManifest { try StoreJSON.decode(data) }
}

/// How luminatectl's own files in a store read: stable, readable JSON (sorted keys, RFC 3339
/// times), so two writes of the same record are the same bytes.
package enum StoreJSON {
    package static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }

    package static func decode<Value: Decodable>(_ data: Data, as type: Value.Type = Value.self) throws -> Value {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: data)
    }
}
