import Foundation

/// What the operator asked to restore, before the live tables were read.
package struct RestoreSelection: Sendable, Equatable {
    /// `db.table` (or `table`, in the environment's database); empty for every table of the backup.
    package var tables: [String]
    /// Partition ids; empty for every partition the backup holds.
    package var partitions: [String]

    package init(tables: [String] = [], partitions: [String] = []) {
        self.tables = tables
        self.partitions = partitions
    }
}

/// Decides, table by table and partition by partition, what a restore will do, from the backup's
/// manifest and what the destination holds now. It only reads; every refusal (an unknown table or
/// partition, a structure that differs, a non-empty table for `--in-place`, a staging database
/// that already exists) happens here, before anything is created or changed.
package struct RestorePlanner: Sendable {
    package var point: RestorePoint
    package var mode: RestoreMode
    package var selection: RestoreSelection
    package var servers: RestoreServers
    /// The environment's database, for bare table names.
    package var database: String

    package init(point: RestorePoint, mode: RestoreMode, selection: RestoreSelection, servers: RestoreServers, database: String) {
        self.point = point
        self.mode = mode
        self.selection = selection
        self.servers = servers
        self.database = database
    }

    package var manifest: BackupManifest { point.manifest }

    package func tables() throws -> [TableRestore] {
        let sources = try selectedTables()
        try checkShards()
        try checkPartitions(sources)
        if let work = mode.workDatabase(backup: manifest.id), try databaseExists(work) {
            throw RestoreRefused(
                "database \(work) already exists on \(servers.summary): a restore or drill of \(manifest.id) did not finish",
                hint: "inspect it, then remove it with: luminatectl restore cleanup \(manifest.id)")
        }
        var restores: [TableRestore] = []
        var mismatches: [(String, [String])] = []
        for source in sources {
            let definition = try parse(source)
            let destination = try self.destination(of: source)
            let live = try liveDefinition(destination)
            if let live, mode.changesLiveTables {
                let diff = StructureDiff.lines(backup: definition, live: live)
                if !diff.isEmpty { mismatches.append((destination.description, diff)); continue }
            }
            let current = live != nil && definition.isMergeTreeFamily ? try PartitionCounts.read(destination, on: servers) : PartitionCounts()
            restores.append(TableRestore(source: source, definition: definition, destination: destination, exists: live != nil,
                                         partitions: definition.isMergeTreeFamily ? changes(source, current: current) : [],
                                         current: current))
        }
        if !mismatches.isEmpty { throw RestoreStructureMismatch(backup: manifest.id, tables: mismatches) }
        try checkDestinations(restores)
        return restores
    }

    // MARK: - Selection

    private func selectedTables() throws -> [TableBackup] {
        guard !selection.tables.isEmpty else { return manifest.tables }
        return try selection.tables.map { name in
            let (db, table) = try NativeEngine.split(name, default: database)
            guard let found = manifest.tables.first(where: { $0.database == db && $0.table == table }) else {
                throw RestoreRefused("--tables names \(db).\(table), which backup \(manifest.id) does not hold",
                                     hint: "it holds: \(manifest.tables.map(\.qualifiedName).joined(separator: ", "))")
            }
            return found
        }
    }

    private func checkPartitions(_ sources: [TableBackup]) throws {
        let held = Set(sources.flatMap { $0.partitions.map(\.id) })
        let unknown = selection.partitions.filter { !held.contains($0) }
        guard unknown.isEmpty else {
            // Restoring a partition the backup lacks would replace live rows with nothing.
            throw RestoreRefused(
                "--partitions names \(unknown.joined(separator: ", ")), which backup \(manifest.id) does not hold of \(sources.map(\.qualifiedName).joined(separator: ", "))",
                hint: "luminatectl backup show \(manifest.id) lists its partitions")
        }
    }

    private func checkShards() throws {
        let backedUp = Set(manifest.tables.flatMap { $0.partitions.map(\.shard) })
        let here = Set(servers.shards.map(\.shard))
        let missing = backedUp.subtracting(here).sorted()
        guard missing.isEmpty else {
            throw RestoreRefused(
                "backup \(manifest.id) holds data of shard\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")), which \(servers.summary) does not have",
                hint: "restore into a cluster with the backup's layout (\(manifest.cluster.map { "\($0.shards.count) shards of \($0.name)" } ?? "a single server"))")
        }
    }

    private func changes(_ source: TableBackup, current: PartitionCounts) -> [PartitionChange] {
        let wanted = Set(selection.partitions.isEmpty ? source.partitions.map(\.id) : selection.partitions)
        let ids = Set(source.partitions.map(\.id)).union(current.partitionIDs).sorted()
        return ids.map { id in
            let backedUp = source.partitions.filter { $0.id == id }
            let now = current.total(id)
            guard !backedUp.isEmpty, wanted.contains(id) else {
                return PartitionChange(id: id, action: .leave, currentRows: now, restoredRows: nil)
            }
            let rows = backedUp.reduce(0) { $0 + $1.rows }
            let upper = backedUp.contains { $0.rowsUpperBound != nil } ? backedUp.reduce(0) { $0 + ($1.rowsUpperBound ?? $1.rows) } : nil
            return PartitionChange(id: id, action: now > 0 ? .replace : .add, currentRows: now, restoredRows: rows, restoredRowsUpperBound: upper)
        }
    }

    private func checkDestinations(_ restores: [TableRestore]) throws {
        switch mode {
        case .inPlace(let allowNonEmpty) where !allowNonEmpty:
            let holding = restores.filter { !$0.current.isEmpty }
            guard holding.isEmpty else {
                throw RestoreRefused(
                    "--in-place is for empty, rebuilt tables, and \(holding.map { "\($0.destination) holds \($0.current.rows.values.reduce(0) { $0 + $1.values.reduce(0, +) }) rows" }.joined(separator: ", "))",
                    hint: "restore without --in-place (staged: nothing live is replaced before it is verified), or add --allow-non-empty to load beside the rows there (duplicates where they overlap)")
            }
        case .beside:
            let holding = restores.filter { $0.exists && $0.holdsData && !$0.current.isEmpty }
            guard holding.isEmpty else {
                throw RestoreRefused("--into-database would add to tables that hold data: \(holding.map(\.destination.description).joined(separator: ", "))",
                                     hint: "name a new or empty database")
            }
        default:
            break
        }
    }

    // MARK: - Reading the destination

    private func parse(_ source: TableBackup) throws -> TableDefinition {
        do {
            return try TableDefinition(parsing: source.createStatement)
        } catch {
            throw RestoreRefused("the definition of \(source.qualifiedName) in backup \(manifest.id) cannot be read: \(error)")
        }
    }

    private func destination(of source: TableBackup) throws -> QualifiedTable {
        switch mode {
        case .beside(let database): return QualifiedTable(database, source.table)
        case .drill: return QualifiedTable(RestoreMode.scratchDatabase(manifest.id), source.table)
        case .staged, .inPlace: return QualifiedTable(source.database, source.table)
        }
    }

    private func databaseExists(_ name: String) throws -> Bool {
        struct Row: Decodable { var name: String }
        return try servers.everyReplica.contains { server in
            !(try server.query("SELECT name FROM system.databases WHERE name = \(literal: name)", as: Row.self)).isEmpty
        }
    }

    /// The live definition (from the first shard), or nil when the table does not exist.
    private func liveDefinition(_ table: QualifiedTable) throws -> TableDefinition? {
        struct Row: Decodable { var name: String }
        let server = servers.shards[0].primary
        let found = try server.query("SELECT name FROM system.tables WHERE database = \(literal: table.database) AND name = \(literal: table.table)", as: Row.self)
        guard !found.isEmpty else { return nil }
        struct Create: Decodable { var statement: String }
        guard let text = try server.query("SHOW CREATE TABLE \(try table.sql)", as: Create.self).first?.statement else { return nil }
        return try TableDefinition(parsing: text)
    }
}
