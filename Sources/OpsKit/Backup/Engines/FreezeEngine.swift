import Foundation

/// Backups for ClickHouse servers without `BACKUP` (before 22.8; the sandbox's 18.16), the way
/// clickhouse-backup takes them: `ALTER TABLE ... FREEZE WITH NAME` hard-links every active part
/// under `<root>shadow/luminatectl_<id>/`, luminatectl uploads those files to the store, then
/// removes the shadow directory again, on every path.
///
/// It reads one replica per shard (replica 1 unless it does not answer) and must run where the
/// servers' data directories are mounted: the files are read from disk, not through ClickHouse.
/// Full backups only.
package struct FreezeEngine: BackupEngine {
    /// The `clickhouse-client` of one replica, from its `system.clusters` host and TCP port: the
    /// environment's user and password, another address. Tests hand in fakes.
    package typealias ReplicaClient = @Sendable (_ host: String, _ port: Int) -> ClickHouseNative

    /// The configured server: the cluster's layout is read from it, and without a cluster it is
    /// the one server backed up (shard 1).
    package let server: ClickHouseNative
    package let replicaClient: ReplicaClient
    /// Files uploaded at once.
    package let uploadWidth: Int
    /// Limit for one FREEZE: hard links are quick, but a table of many thousand parts takes a while.
    package static let freezeTimeout: Double = 600

    package var kind: BackupEngineKind { .freeze }

    package init(server: ClickHouseNative, replicaClient: @escaping ReplicaClient, uploadWidth: Int = 4) {
        self.server = server
        self.replicaClient = replicaClient
        self.uploadWidth = max(1, uploadWidth)
    }

    /// The live wiring: every replica is reached like the configured server (same user,
    /// password, executable and timeout), at its own host and port.
    package init(server: ClickHouseNative, context: Context, uploadWidth: Int = 4) {
        let endpoint = server.endpoint
        self.init(server: server, replicaClient: { host, port in
            var replica = endpoint
            replica.host = host
            replica.port = port
            return ClickHouseNative(endpoint: replica, context: context)
        }, uploadWidth: uploadWidth)
    }

    // MARK: - Run

    package func run(_ request: BackupRequest, store: any BackupStore, session: OperationSession,
                     progress report: @escaping @Sendable (BackupProgressReport) -> Void) throws -> BackupOutcome {
        let selection = try Self.validate(request)
        let name = FreezeLayout.shadowName(request.id)
        let database = request.database
        let clock = session.context.clock
        let progress = UploadProgress(report: report)

        let replicas = try session.step(topologyStep(request)) { try chooseReplicas(request, session: session) }
        let first = replicas[0]
        let tables = try session.step("read the tables of \(database) on \(first.label)") {
            try readTables(database: database, selection: selection, on: first, session: session)
        }
        let tablesReadAt = clock.now()
        let mergeTree = tables.filter(\.isMergeTree).map(\.name)

        // Every server is checked before anything is changed on any of them.
        var servers: [ReplicaData] = []
        if !mergeTree.isEmpty {
            for replica in replicas {
                servers.append(try session.step("locate the data of \(replica.label)") {
                    try locateData(database: database, tables: mergeTree, on: replica, session: session)
                })
            }
        }

        var shadows = ShadowCleanup()
        do {
            for server in servers {
                guard let root = server.dataRoot else { continue }
                try session.step("remove stale shadow directories on \(server.replica.label)") {
                    let removed = try ShadowDirectory.staleFreezes(dataRoot: root).map { try ShadowDirectory.remove($0) }
                    session.record("removed", .array(removed.map(\.evidence)))
                }
            }

            progress.phase("freezing")
            var snapshotAt: Date?
            var frozen: [FrozenTable] = []
            for table in mergeTree {
                for server in servers {
                    guard let root = server.dataRoot else { continue }
                    frozen.append(try session.step("freeze \(database).\(table) on \(server.replica.label)") {
                        shadows.register(FreezeLayout.shadowDirectory(dataRoot: root, name: name), on: server.replica)
                        if snapshotAt == nil { snapshotAt = clock.now() }
                        return try freeze(table, database: database, partitions: selection.partitions, name: name,
                                          on: server, session: session)
                    })
                }
            }

            var files: [BackupFile] = []
            for server in servers {
                let tablesHere = frozen.filter { $0.shard == server.replica.shard }
                guard !tablesHere.isEmpty else { continue }
                let step = "upload \(server.replica.label) to \(store.location)"
                files += try session.step(step) {
                    let items = try uploadItems(tablesHere, id: request.id, database: database)
                    let uploaded = try FreezeUpload.run(items, to: store, width: uploadWidth, id: request.id,
                                                        interrupt: session.context.interrupt, step: step, progress: progress)
                    session.record("files", .number(Double(uploaded.count)))
                    session.record("bytes", .number(Double(uploaded.reduce(0) { $0 + $1.size })))
                    return uploaded
                }
            }

            for shadow in shadows.pending {
                try session.step("remove shadow directory \(name) on \(shadow.replica)") {
                    shadows.remove(shadow, session: session)
                }
            }

            files += try session.step("upload the schema of \(tables.count == 1 ? "1 table" : "\(tables.count) tables") to \(store.location)") {
                try uploadSchema(tables, id: request.id, database: database, store: store, session: session)
            }

            return BackupOutcome(
                serverVersion: first.serverVersion, snapshotAt: snapshotAt ?? tablesReadAt,
                cluster: request.cluster.map { cluster in
                    BackupClusterLayout(name: cluster, shards: replicas.map {
                        ShardSource(shard: $0.shard, replica: $0.address, replicas: $0.replicas)
                    })
                },
                tables: tables.map { table in
                    TableBackup(database: database, table: table.name, engine: table.engine, createStatement: table.createStatement,
                                partitions: frozen.filter { $0.table == table.name }.flatMap(\.partitions))
                },
                native: nil, files: files, sizeBytes: files.reduce(0) { $0 + $1.size })
        } catch {
            // Ctrl-C included: `session.step` would refuse to start now, so this is no step; what
            // it removed goes into the journal's failure record.
            shadows.removeAfterFailure(session: session)
            throw error
        }
    }

    // MARK: - Stages

    private func topologyStep(_ request: BackupRequest) -> String {
        if let cluster = request.cluster {
            return "choose one replica per shard of cluster \(cluster) (from \(server.endpoint.address))"
        }
        return "check clickhouse \(server.endpoint.address)"
    }

    private func chooseReplicas(_ request: BackupRequest, session: OperationSession) throws -> [ChosenReplica] {
        guard let cluster = request.cluster else {
            let version = try ClusterReplicas.serverVersion(server)
            session.record("version", .string(version))
            return [ChosenReplica(shard: 1, replica: 1, replicas: 1, address: server.endpoint.address, client: server, serverVersion: version)]
        }
        let listed = try server.query(ClusterReplicas.query(cluster: cluster), as: ClusterReplica.self)
        guard !listed.isEmpty else { throw FreezeBackupError.unknownCluster(cluster: cluster, server: server.endpoint.address) }
        let (chosen, attempts) = try ClusterReplicas.choose(listed, cluster: cluster, interrupt: session.context.interrupt) {
            replicaClient($0.host, $0.port)
        }
        session.record("cluster", .string(cluster))
        session.record("attempts", .array(attempts.map(\.evidence)))
        session.record("chosen", .array(chosen.map { .string("shard \($0.shard): replica \($0.replica) of \($0.replicas), \($0.address)") }))
        return chosen
    }

    private func readTables(database: String, selection: Selection, on replica: ChosenReplica,
                            session: OperationSession) throws -> [TableInfo] {
        struct Row: Decodable { var name: String; var engine: String }
        let rows = try replica.client.query(FreezeStatements.tables(database: database), as: Row.self)
        let chosen: [Row]
        if selection.tables.isEmpty {
            let unsupported = rows.map(\.name).filter { !SQL.isValidIdentifier($0) }
            guard unsupported.isEmpty else { throw FreezeBackupError.unsupportedTableNames(unsupported, database: database) }
            chosen = rows
        } else {
            let missing = selection.tables.filter { name in !rows.contains { $0.name == name } }
            guard missing.isEmpty else {
                throw FreezeBackupError.unknownTables(missing.map { "\(database).\($0)" }, database: database, replica: replica.address)
            }
            chosen = selection.tables.compactMap { name in rows.first { $0.name == name } }
        }
        struct Create: Decodable { var statement: String }
        let tables = try chosen.map { row in
            let sql = try FreezeStatements.showCreate(database: database, table: row.name)
            guard let statement = try replica.client.query(sql, as: Create.self).first?.statement, !statement.isEmpty else {
                throw ClickHouseError.unexpectedResponse(host: replica.address, queryID: nil, status: nil, detail: "\(sql) answered no statement")
            }
            return TableInfo(name: row.name, engine: row.engine, createStatement: statement)
        }
        session.record("tables", .array(tables.map {
            ["table": .string("\(database).\($0.name)"), "engine": .string($0.engine), "backup": .string($0.isMergeTree ? "data and schema" : "schema only")]
        }))
        return tables
    }

    private func locateData(database: String, tables: [String], on replica: ChosenReplica,
                            session: OperationSession) throws -> ReplicaData {
        struct Row: Decodable { var table: String; var directories: [String]; var part: String }
        let rows = try replica.client.query(FreezeStatements.dataDirectories(database: database, tables: tables), as: Row.self)
        var root: String?
        var directories: [String: String] = [:]
        for row in rows {
            guard row.directories.count == 1, let split = FreezeLayout.splitTableDirectory(row.directories[0]) else {
                throw FreezeBackupError.severalDataDirectories(replica: replica.address, table: "\(database).\(row.table)",
                                                               directories: row.directories)
            }
            if let root, root != split.dataRoot {
                throw FreezeBackupError.severalDataDirectories(replica: replica.address, table: "\(database).\(row.table)",
                                                               directories: [root, split.dataRoot])
            }
            // The exact part directory the server just named: a directory of that name at that
            // path is this server's disk, not a look-alike on another machine.
            guard ShadowDirectory.isDirectory(row.part) else {
                throw FreezeBackupError.dataNotLocal(replica: replica.address, path: split.dataRoot)
            }
            root = split.dataRoot
            directories[row.table] = split.relative
        }
        if let root {
            session.record("dataDirectory", .string(root))
            session.record("checked", .array(rows.map { .string($0.part) }))
        } else {
            session.record("dataDirectory", .null)
            session.record("note", "no active parts of these tables on this replica: nothing to freeze here")
        }
        return ReplicaData(replica: replica, dataRoot: root, tableDirectories: directories)
    }

    private func freeze(_ table: String, database: String, partitions: [String], name: String, on server: ReplicaData,
                        session: OperationSession) throws -> FrozenTable {
        let root = server.dataRoot!
        let client = server.replica.client
        let statements = try (partitions.isEmpty ? [nil] : partitions.map { Optional($0) }).map {
            try FreezeStatements.freeze(database: database, table: table, partition: $0, name: name)
        }
        for statement in statements {
            try client.execute(statement, options: .init(timeout: Self.freezeTimeout))
        }
        session.record("statements", .array(statements.map { .string($0.sql) }))

        let shadow = FreezeLayout.shadowDirectory(dataRoot: root, name: name)
        let relative = server.tableDirectories[table] ?? FreezeLayout.ordinaryTableDirectory(database: database, table: table)
        let directory = FreezeLayout.frozenTableDirectory(dataRoot: root, name: name, relativeTableDirectory: relative)
        // A table with active parts frozen whole leaves a shadow directory; its absence means the
        // server wrote it on a disk this machine does not see.
        if partitions.isEmpty, server.tableDirectories[table] != nil, !ShadowDirectory.isDirectory(shadow) {
            throw FreezeBackupError.shadowMissing(replica: server.replica.address, path: shadow)
        }
        let names = try ShadowDirectory.frozenParts(in: directory)

        struct Row: Decodable { var name: String; var partition_id: String; var rows: FlexibleUInt64; var bytes_on_disk: FlexibleUInt64 }
        var listed: [String: Row] = [:]
        for start in stride(from: 0, to: names.count, by: FreezeStatements.partNamesPerQuery) {
            let chunk = Array(names[start..<min(names.count, start + FreezeStatements.partNamesPerQuery)])
            for row in try client.query(FreezeStatements.frozenParts(database: database, table: table, names: chunk), as: Row.self) {
                listed[row.name] = row
            }
        }
        var parts: [FrozenPart] = []
        var countedFromFiles: [String] = []
        for part in names {
            if let row = listed[part] {
                parts.append(FrozenPart(name: part, partitionID: row.partition_id, rows: row.rows.value, bytes: row.bytes_on_disk.value))
            } else {
                // Merged away and already deleted by the server: the frozen copy says what it held.
                let files = try ShadowDirectory.files(under: directory + part)
                parts.append(FrozenPart(name: part, partitionID: FreezeLayout.partitionID(ofPart: part),
                                        rows: ShadowDirectory.rowCount(part: directory + part) ?? 0,
                                        bytes: files.reduce(0) { $0 + $1.size }))
                countedFromFiles.append(part)
            }
        }
        let frozen = FrozenTable(table: table, shard: server.replica.shard, directory: directory, parts: parts)
        session.record("directory", .string(directory))
        session.record("parts", .number(Double(parts.count)))
        session.record("partitions", .number(Double(frozen.partitions.count)))
        session.record("rows", .number(Double(frozen.partitions.reduce(0) { $0 + $1.rows })))
        session.record("bytes", .number(Double(frozen.partitions.reduce(0) { $0 + $1.bytes })))
        if !countedFromFiles.isEmpty { session.record("countedFromFiles", .array(countedFromFiles.map { .string($0) })) }
        return frozen
    }

    private func uploadItems(_ tables: [FrozenTable], id: BackupID, database: String) throws -> [UploadItem] {
        var items: [UploadItem] = []
        for table in tables {
            for part in table.parts {
                for file in try ShadowDirectory.files(under: table.directory + part.name) {
                    items.append(UploadItem(path: file.path, key: FreezeLayout.dataKey(id, shard: table.shard, database: database,
                                                                                        table: table.table, part: part.name, file: file.relative),
                                            size: file.size))
                }
            }
        }
        return items
    }

    private func uploadSchema(_ tables: [TableInfo], id: BackupID, database: String, store: any BackupStore,
                              session: OperationSession) throws -> [BackupFile] {
        let files = try tables.map { table in
            let key = FreezeLayout.schemaKey(id, database: database, table: table.name)
            let data = FreezeLayout.schemaFile(table.createStatement)
            try store.write(key, data: data)
            return BackupFile(key: FreezeLayout.relativeKey(key, id: id), size: UInt64(data.count), sha256: SHA256.hex(data))
        }
        session.record("files", .array(files.map { .string($0.key) }))
        return files
    }

    // MARK: - Validation

    /// What the request asks for, checked before anything is sent.
    struct Selection {
        /// Table names within the database; empty for all.
        var tables: [String]
        /// Partition ids, each once, in the order given; empty for all.
        var partitions: [String]
    }

    static func validate(_ request: BackupRequest) throws -> Selection {
        if let base = request.base { throw FreezeBackupError.incrementalNotSupported(base: base.id) }
        _ = try SQL.identifier(request.database)
        var tables: [String] = []
        for name in request.tables {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            let (database, table) = parts.count == 2 ? (parts[0], parts[1]) : (request.database, name)
            guard database == request.database else {
                throw FreezeBackupError.tableOutsideDatabase(table: name, database: request.database)
            }
            _ = try SQL.identifier(table)
            if !tables.contains(table) { tables.append(table) }
        }
        var partitions: [String] = []
        for partition in request.partitions where !partitions.contains(partition) { partitions.append(partition) }
        return Selection(tables: tables, partitions: partitions)
    }
}
