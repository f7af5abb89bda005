import Foundation

/// Why the freeze engine refused or stopped, in the words an operator needs: which server,
/// which path, which table, and what to do instead.
package enum FreezeBackupError: OperatorError, Equatable {
    /// An incremental backup was asked for: FREEZE copies whole parts, there is nothing to diff.
    case incrementalNotSupported(base: String)
    /// `request.tables` names a table of another database.
    case tableOutsideDatabase(table: String, database: String)
    /// Tables whose names luminatectl cannot put into SQL or paths (`.inner.mv` of a
    /// materialized view); they would otherwise be left out silently.
    case unsupportedTableNames([String], database: String)
    /// Requested tables the server does not have.
    case unknownTables([String], database: String, replica: String)
    /// `system.clusters` has no such cluster on the configured server.
    case unknownCluster(cluster: String, server: String)
    /// Every replica of a shard failed to answer `SELECT version()`.
    case noReachableReplica(cluster: String, shard: Int, failures: [String])
    /// The server's data directory is not on this machine.
    case dataNotLocal(replica: String, path: String)
    /// A table's parts live in more than one directory (several disks, 19.15+).
    case severalDataDirectories(replica: String, table: String, directories: [String])
    /// FREEZE said it worked, but its shadow directory is not here.
    case shadowMissing(replica: String, path: String)
    /// A file or directory of the server could not be read or removed.
    case localFile(path: String, action: String, reason: String)

    package var description: String {
        switch self {
        case .incrementalNotSupported(let base):
            return "the freeze engine takes full backups only: an incremental backup on \(base) needs the native engine"
        case .tableOutsideDatabase(let table, let database):
            return "table \(table) is not in database \(database), the one this backup is of"
        case .unsupportedTableNames(let names, let database):
            return "database \(database) has tables whose names the freeze engine cannot handle: \(names.joined(separator: ", ")) (names must match \(SQL.identifierRule))"
        case .unknownTables(let names, let database, let replica):
            return "clickhouse \(replica) has no table \(names.joined(separator: ", ")) in database \(database)"
        case .unknownCluster(let cluster, let server):
            return "clickhouse \(server) has no cluster \(cluster) in system.clusters"
        case .noReachableReplica(let cluster, let shard, let failures):
            return "no replica of shard \(shard) of cluster \(cluster) answered: \(failures.joined(separator: "; "))"
        case .dataNotLocal(let replica, let path):
            return "the data of clickhouse \(replica) (\(path)) is not on this machine's filesystem: the freeze engine copies the frozen parts from the server's own disk, so it must run beside the server"
        case .severalDataDirectories(let replica, let table, let directories):
            return "table \(table) on clickhouse \(replica) has parts in several directories (\(directories.joined(separator: ", "))): the freeze engine handles one data directory per server"
        case .shadowMissing(let replica, let path):
            return "clickhouse \(replica) froze parts, but \(path) does not exist on this machine"
        case .localFile(let path, let action, let reason):
            return "cannot \(action) \(path): \(reason)"
        }
    }

    package var hint: String? {
        switch self {
        case .incrementalNotSupported:
            return "without a base the freeze engine takes a full backup; --engine native (ClickHouse 22.8+) takes incremental ones"
        case .tableOutsideDatabase:
            return "give tables as <database>.<table> of the environment's clickhouse.database"
        case .unsupportedTableNames:
            return "name the tables to back up explicitly (the backup's table list) to leave these out on purpose"
        case .unknownTables:
            return "check the names with SHOW TABLES FROM the database"
        case .unknownCluster:
            return "check clickhouse.cluster / LUMINATECTL_CLICKHOUSE_CLUSTER against SELECT DISTINCT cluster FROM system.clusters"
        case .noReachableReplica:
            return "a backup needs one working replica of every shard; check the servers and their TCP ports in system.clusters"
        case .dataNotLocal, .shadowMissing:
            return "run luminatectl in a sidecar or a pod that mounts the server's data volume at the same path, or use --engine native (ClickHouse 22.8+), which needs no access to the server's files"
        case .severalDataDirectories:
            return "use --engine native (ClickHouse 22.8+) for tables on several disks"
        case .localFile:
            return "the freeze engine must read ClickHouse's data directory and delete its shadow directories: run it as the user ClickHouse runs as (or root)"
        }
    }

    package var exitCode: ExitCode {
        switch self {
        case .incrementalNotSupported, .tableOutsideDatabase: .usage
        default: .failure
        }
    }

    /// `strerror(errno)`, for `.localFile`.
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
