import Foundation

/// Why the freeze restore refused or stopped, in the words an operator needs: which server,
/// which directory, which shard, and what to do instead. A damaged file is a
/// `RestoreIntegrityError` instead, the same for every engine.
package enum FreezeRestoreError: OperatorError, Equatable {
    /// The manifest is of another engine's backup: it lists no part files to download.
    case notAFreezeBackup(backup: String, engine: String)
    /// The backup holds shards the restore's servers do not have.
    case shardsMissing(backup: String, missing: [Int], backupLayout: String, servers: String)
    /// The target is not in the server's `system.tables`.
    case unknownTarget(table: String, server: String)
    /// `system.tables` names no data directory for the target: no MergeTree table.
    case noDataDirectory(server: String, table: String)
    /// The target's parts live in more than one directory (several disks, 19.15+).
    case severalDataDirectories(server: String, table: String, directories: [String])
    /// The target's data directory is not on this machine.
    case dataNotLocal(server: String, table: String, path: String)
    /// `detached/` already holds parts that `ATTACH PARTITION` would take along with the backup's.
    case detachedInTheWay(server: String, directory: String, entries: [String])
    /// `ATTACH PARTITION` answered, but parts the load put into `detached/` are still there.
    case notAttached(server: String, table: String, parts: [String])
    /// A file or directory below the target's data directory could not be written or removed.
    case localFile(path: String, action: String, reason: String)

    package var description: String {
        switch self {
        case .notAFreezeBackup(let backup, let engine):
            return "backup \(backup) was taken by the \(engine) engine: the freeze restore reads only freeze backups"
        case .shardsMissing(let backup, let missing, let backupLayout, let servers):
            let shards = missing.map(String.init).joined(separator: ", ")
            return "backup \(backup) holds data of shard \(shards), which the restore's servers lack: the backup is of \(backupLayout); the servers are \(servers)"
        case .unknownTarget(let table, let server):
            return "clickhouse \(server) has no table \(table) in system.tables"
        case .noDataDirectory(let server, let table):
            return "table \(table) on clickhouse \(server) has no data directory in system.tables: the freeze restore loads into MergeTree tables only"
        case .severalDataDirectories(let server, let table, let directories):
            return "table \(table) on clickhouse \(server) has several data directories (\(directories.joined(separator: ", "))): the freeze restore handles one per server"
        case .dataNotLocal(let server, let table, let path):
            return "the data of \(table) on clickhouse \(server) (\(path)) is not on this machine's filesystem: the freeze restore writes the backup's parts into the server's own detached/ directory, so it must run beside the server"
        case .detachedInTheWay(let server, let directory, let entries):
            return "\(directory) on clickhouse \(server) already holds \(entries.joined(separator: ", ")): ATTACH PARTITION would take those parts along with the backup's"
        case .notAttached(let server, let table, let parts):
            return "ATTACH PARTITION on clickhouse \(server) left parts of \(table) in detached/: \(parts.joined(separator: ", "))"
        case .localFile(let path, let action, let reason):
            return "cannot \(action) \(path): \(reason)"
        }
    }

    package var hint: String? {
        switch self {
        case .notAFreezeBackup:
            return "restore it with the engine that took it (luminatectl backup show names it)"
        case .shardsMissing:
            return "restore into a cluster with the backup's shards (the same shard numbers in system.clusters), or set clickhouse.cluster to it"
        case .unknownTarget:
            return "the restore creates the target before loading; check it with SHOW TABLES on that server"
        case .noDataDirectory:
            return "restore into a table of the backed-up table's engine (its SHOW CREATE TABLE is in the backup's schema/ folder)"
        case .severalDataDirectories:
            return "use --engine native (ClickHouse 22.8+) for tables on several disks"
        case .dataNotLocal:
            return "run luminatectl in a sidecar or a pod that mounts the server's data volume at the same path, or restore a native backup (ClickHouse 22.8+), which needs no access to the server's files"
        case .detachedInTheWay:
            return "move those directories out of detached/ (or remove them, if nobody needs them) and run the restore again"
        case .notAttached:
            return "check the server's log for the ATTACH; the restore removed the parts it left in detached/"
        case .localFile:
            return "the freeze restore writes into ClickHouse's data directory: run it as the user ClickHouse runs as (or root)"
        }
    }

    /// `strerror(errno)`, for `.localFile`.
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
