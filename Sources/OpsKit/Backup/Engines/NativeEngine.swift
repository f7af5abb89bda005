import Foundation

/// The production path: ClickHouse's own `BACKUP` (22.8+) to its backup disk, `ON CLUSTER` when a
/// cluster is configured, `ASYNC`, polled in `system.backups` until it is created or failed.
/// ClickHouse writes the data; luminatectl counts what was there before and after, checks that
/// the store sees what the server wrote, and (in the plan) writes the manifest beside it.
package struct NativeEngine: BackupEngine {
    package let clickhouse: ClickHouseHTTP
    /// The server's backup disk (`<backups><type>s3_plain</type>` in backups.xml).
    package let disk: String
    /// Where on that disk this store's root is: `luminate/` makes a backup
    /// `Disk('backups', 'luminate/<id>/')`, which must be `<store root>/<id>/` for luminatectl.
    package let diskPath: String
    /// Seconds between two looks at `system.backups`.
    package let pollInterval: Double

    package init(clickhouse: ClickHouseHTTP, disk: String, diskPath: String, pollInterval: Double = 1) {
        self.clickhouse = clickhouse
        self.disk = disk
        self.diskPath = Self.folder(diskPath)
        self.pollInterval = pollInterval
    }

    package var kind: BackupEngineKind { .native }

    /// `Disk('backups', 'luminate/20261130T140500Z/')`.
    package func destination(_ id: String) -> SQLFragment {
        Self.destination(disk: disk, diskPath: diskPath, id: id)
    }

    /// Where backup `id` lives on the server's backup disk: what BACKUP writes to, and what
    /// RESTORE (and a later incremental's `base_backup`) reads from.
    package static func destination(disk: String, diskPath: String, id: String) -> SQLFragment {
        "Disk(\(literal: disk), \(literal: folder(diskPath) + id + "/"))"
    }

    /// `luminate` and `luminate/` both mean the folder `luminate/`; an empty path is the disk's root.
    package static func folder(_ diskPath: String) -> String {
        diskPath.isEmpty || diskPath.hasSuffix("/") ? diskPath : diskPath + "/"
    }

    /// The BACKUP statement, exactly as sent.
    package func statement(_ request: BackupRequest) throws -> SQLFragment {
        var sql: SQLFragment = "BACKUP"
        if request.tables.isEmpty {
            sql = sql.appending(try "DATABASE \(identifier: request.database)")
        } else {
            var elements: [SQLFragment] = []
            for name in request.tables {
                let (database, table) = try Self.split(name, default: request.database)
                var element: SQLFragment = try "TABLE \(table: database, table)"
                if !request.partitions.isEmpty {
                    element = element.appending("PARTITIONS").appending(SQL.list(request.partitions.map { "ID \(literal: $0)" }))
                }
                elements.append(element)
            }
            sql = sql.appending(SQL.list(elements))
        }
        if let cluster = request.cluster {
            sql = sql.appending(try "ON CLUSTER \(identifier: cluster)")
        }
        sql = sql.appending("TO").appending(destination(request.id.text))
        if let base = request.base {
            sql = sql.appending("SETTINGS base_backup =").appending(destination(base.id))
        }
        return sql.appending("ASYNC")
    }

    package func describe(_ request: BackupRequest) -> [String] {
        let backup = (try? statement(request).sql) ?? "(invalid request)"
        return [
            "count rows and bytes per partition in system.parts\(request.cluster.map { " (one replica per shard of cluster \($0))" } ?? "")",
            backup,
            "poll system.backups every \(DurationParser.format(pollInterval)) until BACKUP_CREATED or BACKUP_FAILED",
            "count rows and bytes per partition again (writes in between make a range)",
            "check the store holds \(request.id.text)/.backup (what ClickHouse wrote to disk '\(disk)')",
        ]
    }

    package func run(
        _ request: BackupRequest, store: any BackupStore, session: OperationSession,
        progress: @escaping @Sendable (BackupProgressReport) -> Void
    ) throws -> BackupOutcome {
        let clock = session.context.clock
        let (version, tables, before, layout) = try session.step("read the server and count the partitions") {
            let version = try clickhouse.version()
            guard version.supportsBackupRestore else {
                throw ValidationError(
                    "ClickHouse \(version) at \(clickhouse.host) has no BACKUP statement (it arrived in \(ClickHouseVersion.backupRestore))",
                    hint: "use --engine freeze, which runs beside the server and uploads frozen parts")
            }
            let tables = try readTables(request)
            let counts = try countPartitions(request, tables: tables)
            let layout = try request.cluster.map { try readLayout($0) }
            session.record("serverVersion", .string(version.description))
            session.record("tables", .array(tables.map { .string("\($0.database).\($0.name)") }))
            session.record("partitions", .number(Double(counts.count)))
            return (version, tables, counts, layout)
        }

        let snapshotAt = clock.now()
        let sql = try statement(request)
        let started: BackupRow = try session.step("start BACKUP to \(destination(request.id.text).sql)") {
            session.record("statement", .string(sql.sql))
            // ASYNC answers at once; max_execution_time=0 so no limit of this request's context can
            // reach the backup that goes on in the background.
            guard let row = try clickhouse.query(sql, as: BackupRow.self, options: .init(timeout: 120, settings: ["max_execution_time": "0"])).first else {
                throw ClickHouseError.unexpectedResponse(host: clickhouse.host, queryID: nil, status: nil,
                                                         detail: "BACKUP ... ASYNC returned no row")
            }
            session.record("clickhouseBackupID", .string(row.id))
            return row
        }

        let finished = try session.step("wait for ClickHouse to finish the backup") {
            let row = try waitForBackup(started.id, session: session, progress: progress)
            session.record("files", .number(Double(row.numFiles?.value ?? 0)))
            session.record("bytes", .number(Double(row.totalSize?.value ?? 0)))
            return row
        }

        let after = try session.step("count the partitions again") { try countPartitions(request, tables: tables) }

        // What this backup adds to the store (for an incremental, far less than ClickHouse's
        // total_size, which counts the files it takes from its base).
        let stored: UInt64 = try session.step("check the store holds what ClickHouse wrote") {
            let key = "\(request.id.text)/.backup"
            guard try store.stat(key) != nil else {
                throw BackupStoreError(
                    location: store.location, key: key,
                    reason: "ClickHouse reports the backup created on disk '\(disk)' at '\(diskPath)\(request.id.text)/', but the store does not hold it",
                    hint: "the store (backup.store) and the disk's endpoint (backups.xml) must name the same place; backup.diskPath is the store root's path on the disk")
            }
            let bytes = try store.list(prefix: BackupLayout.folder(request.id.text), delimiter: nil).objects
                .filter { !$0.key.hasSuffix(BackupLayout.startMarkerName) && !$0.key.hasSuffix(BackupLayout.manifestName) }
                .reduce(0) { $0 + $1.size }
            session.record("storedBytes", .number(Double(bytes)))
            return bytes
        }

        let backedUp = tables.map { table -> TableBackup in
            let partitions = before.filter { $0.table == table.name }.map { row -> PartitionBackup in
                let later = after.first { $0.table == row.table && $0.partitionID == row.partitionID && $0.shard == row.shard }
                let upper = later.map(\.rows.value).flatMap { $0 != row.rows.value ? max($0, row.rows.value) : nil }
                return PartitionBackup(shard: row.shard ?? 1, id: row.partitionID, rows: min(row.rows.value, later?.rows.value ?? row.rows.value),
                                       bytes: row.bytes.value, rowsUpperBound: upper)
            }
            return TableBackup(database: table.database, table: table.name, engine: table.engine,
                               createStatement: table.createTableQuery, partitions: partitions)
        }
        return BackupOutcome(
            serverVersion: version.description, snapshotAt: snapshotAt, cluster: layout, tables: backedUp,
            native: NativeBackupDetails(destination: destination(request.id.text).sql, clickhouseBackupID: started.id,
                                        files: finished.numFiles?.value ?? 0, totalSize: finished.totalSize?.value ?? 0),
            files: [], sizeBytes: stored)
    }

    // MARK: - Steps

    private func waitForBackup(
        _ id: String, session: OperationSession, progress: @escaping @Sendable (BackupProgressReport) -> Void
    ) throws -> BackupRow {
        let poll = SystemBackupsPoll(clickhouse: clickhouse, interval: pollInterval)
        let outcome = try poll.wait(id, done: ["BACKUP_CREATED"], failed: ["BACKUP_FAILED", "BACKUP_CANCELLED"],
                                    context: session.context) { row in
            progress(BackupProgressReport(files: row.numFiles?.value ?? 0, bytes: row.totalSize?.value ?? 0,
                                          phase: row.status == "BACKUP_CREATED" ? "created" : "BACKUP running"))
        }
        switch outcome {
        case .done(let row):
            return row
        case .failed(let row):
            throw NativeBackupFailed(id: id, host: clickhouse.host, status: row.status, error: row.error ?? "")
        case .vanished:
            throw ClickHouseError.unexpectedResponse(
                host: clickhouse.host, queryID: nil, status: nil,
                detail: "system.backups has no backup \(id) (was the server restarted? system.backups lives in memory)")
        case .interrupted(let signal, let killed):
            throw NativeBackupInterrupted(id: id, host: clickhouse.host, signal: signal, killed: killed)
        }
    }

    private func readTables(_ request: BackupRequest) throws -> [TableRow] {
        let all = try clickhouse.query(
            "SELECT database, name, engine, create_table_query FROM system.tables WHERE database = \(literal: request.database) AND NOT is_temporary ORDER BY name",
            as: TableRow.self)
        guard !request.tables.isEmpty else { return all }
        return try request.tables.map { name in
            let (database, table) = try Self.split(name, default: request.database)
            guard let row = all.first(where: { $0.database == database && $0.name == table }) else {
                throw ValidationError("--tables names \(database).\(table), which \(clickhouse.host) does not have",
                                      hint: "tables of \(request.database): \(all.map(\.name).joined(separator: ", "))")
            }
            return row
        }
    }

    private func countPartitions(_ request: BackupRequest, tables: [TableRow]) throws -> [PartitionRow] {
        let names = SQL.list(tables.map { SQL.string($0.name) })
        var filter: SQLFragment = "active AND database = \(literal: request.database) AND table IN (\(names))"
        if !request.partitions.isEmpty {
            filter = filter.appending("AND partition_id IN (\(SQL.list(request.partitions.map { SQL.string($0) })))")
        }
        let sql: SQLFragment
        if let cluster = request.cluster {
            // cluster() reads one replica of each shard; _shard_num says which shard answered.
            sql = "SELECT _shard_num AS shard, table, partition_id, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM cluster(\(literal: cluster), system.parts) WHERE \(filter) GROUP BY shard, table, partition_id ORDER BY table, partition_id, shard"
        } else {
            sql = "SELECT table, partition_id, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE \(filter) GROUP BY table, partition_id ORDER BY table, partition_id"
        }
        return try clickhouse.query(sql, as: PartitionRow.self)
    }

    private func readLayout(_ cluster: String) throws -> BackupClusterLayout {
        let rows = try clickhouse.query(
            "SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = \(literal: cluster) ORDER BY shard_num, replica_num",
            as: ClusterRow.self)
        guard !rows.isEmpty else {
            throw ValidationError("cluster '\(cluster)' is not in system.clusters on \(clickhouse.host)",
                                  hint: "check clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER); an empty value means a single server")
        }
        let shards = Dictionary(grouping: rows, by: \.shardNum).sorted { $0.key < $1.key }.map { shard, replicas in
            // ON CLUSTER backs each shard up from one of its replicas, chosen by the server.
            ShardSource(shard: shard, replica: "any of \(replicas.map { "\($0.hostName):\($0.port)" }.joined(separator: ", "))", replicas: replicas.count)
        }
        return BackupClusterLayout(name: cluster, shards: shards)
    }

    static func split(_ name: String, default database: String) throws -> (String, String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1: return (database, parts[0])
        case 2: return (parts[0], parts[1])
        default: throw ValidationError("'\(name)' is not a table name (db.table or table)")
        }
    }
}

struct BackupRow: Decodable, Sendable {
    var id: String
    var status: String
    var error: String?
    var numFiles: FlexibleUInt64?
    var totalSize: FlexibleUInt64?
    var queryID: String?

    enum CodingKeys: String, CodingKey {
        case id, status, error
        case numFiles = "num_files"
        case totalSize = "total_size"
        case queryID = "query_id"
    }
}

private struct TableRow: Decodable, Sendable {
    var database: String
    var name: String
    var engine: String
    var createTableQuery: String

    enum CodingKeys: String, CodingKey {
        case database, name, engine
        case createTableQuery = "create_table_query"
    }
}

private struct PartitionRow: Decodable, Sendable {
    var shard: Int?
    var table: String
    var partitionID: String
    var rows: FlexibleUInt64
    var bytes: FlexibleUInt64

    enum CodingKeys: String, CodingKey {
        case shard, table, rows, bytes
        case partitionID = "partition_id"
    }
}

private struct ClusterRow: Decodable, Sendable {
    var shardNum: Int
    var replicaNum: Int
    var hostName: String
    var port: Int

    enum CodingKeys: String, CodingKey {
        case shardNum = "shard_num"
        case replicaNum = "replica_num"
        case hostName = "host_name"
        case port
    }
}

/// `system.backups` says the backup failed: its own error text.
package struct NativeBackupFailed: OperatorError, Equatable {
    package var id: String
    package var host: String
    package var status: String
    package var error: String

    package var description: String {
        "ClickHouse \(host) reports backup \(id) \(status): \(Redactor.redact(error.split(separator: "\n").first.map(String.init) ?? "(no error text)"))"
    }

    package var hint: String? { "SELECT * FROM system.backups WHERE id = '\(id)' on \(host) has the whole error" }
}

/// Ctrl-C while ClickHouse was writing the backup.
package struct NativeBackupInterrupted: OperatorError, Equatable {
    package var id: String
    package var host: String
    package var signal: Int32
    package var killed: Bool

    package var description: String {
        "interrupted while ClickHouse \(host) was writing backup \(id)"
            + (killed ? "; the server was asked to stop it (KILL QUERY)" : "; the server may still be writing it")
    }

    package var exitCode: ExitCode { .interrupted }
}
