import Foundation

/// The steps restores and drills share, each journaled through the session: create the work
/// database and tables, load through the engine, verify against the manifest, move partitions
/// into place, wait for the other replicas, drop the work database.
package struct RestoreWork: Sendable {
    package var manifest: BackupManifest
    package var engine: any RestoreEngine
    package var store: any BackupStore
    package var servers: RestoreServers
    package var session: OperationSession

    /// Long statements (REPLACE of a big partition, SYNC REPLICA) get this limit.
    static let longTimeout: Double = 3600

    // MARK: - Databases and tables

    package func createDatabase(_ name: String, ifNotExists: Bool = false) throws {
        try session.step("create database \(name) on \(servers.everyReplica.count) server\(servers.everyReplica.count == 1 ? "" : "s")") {
            let sql: SQLFragment = ifNotExists ? try "CREATE DATABASE IF NOT EXISTS \(identifier: name)" : try "CREATE DATABASE \(identifier: name)"
            for server in servers.everyReplica { try server.execute(sql) }
            session.record("database", .string(name))
            session.record("servers", .array(servers.everyReplica.map { .string($0.address) }))
        }
    }

    /// Creates `table` from the backup's definition on every replica. A staging or scratch copy
    /// is `unreplicated`: it must not join the live table's replication in ZooKeeper.
    package func createTable(_ restore: TableRestore, as table: QualifiedTable, unreplicated: Bool) throws {
        try session.step("create \(table)\(unreplicated && restore.definition.isReplicated ? " (not replicated)" : "") from the backup's definition") {
            let sql = try SQL.createTable(restore.definition, as: table, unreplicated: unreplicated)
            for server in servers.everyReplica { try server.execute(sql) }
            session.record("statement", .string(sql.sql))
        }
    }

    package func dropDatabase(_ name: String) throws {
        try session.step("drop database \(name)") {
            let sql: SQLFragment = try "DROP DATABASE IF EXISTS \(identifier: name)"
            for server in servers.everyReplica { try server.execute(sql, options: .init(timeout: Self.longTimeout)) }
            session.record("database", .string(name))
        }
    }

    // MARK: - Loading and checking

    /// Loads the restored partitions of `restore` into `table` and checks every partition on
    /// every shard against the manifest. Returns the rows found per shard.
    @discardableResult
    package func loadAndVerify(_ restore: TableRestore, into table: QualifiedTable, allowNonEmpty: Bool = false,
                               progress: @escaping @Sendable (RestoreProgress) -> Void) throws -> PartitionCounts {
        let load = RestoreLoad(manifest: manifest, source: restore.source, partitions: restore.restoredIDs, target: table,
                               servers: servers, allowNonEmpty: allowNonEmpty)
        let before = allowNonEmpty ? try PartitionCounts.read(table, on: servers) : PartitionCounts()
        try engine.load(load, store: store, session: session, progress: progress)
        return try session.step("verify \(table) against the backup's manifest") {
            let found = try PartitionCounts.read(table, on: servers)
            var problems: [String] = []
            var evidence: [JSONValue] = []
            for partition in restore.restoredIDs {
                for shard in servers.shards.map(\.shard) {
                    let expected = restore.expected(shard: shard, partition: partition)
                    let rows = found.rows(shard: shard, partition: partition) - min(found.rows(shard: shard, partition: partition), before.rows(shard: shard, partition: partition))
                    let ok = expected.contains(rows)
                    if !ok {
                        let want = expected.lowerBound == expected.upperBound ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)"
                        problems.append("partition \(partition) on shard \(shard): \(rows) rows, the manifest says \(want)")
                    }
                    evidence.append(["partition": .string(partition), "shard": .number(Double(shard)), "rows": .number(Double(rows)),
                                     "expected": .number(Double(expected.lowerBound)), "ok": .bool(ok)])
                }
            }
            session.record("table", .string(table.description))
            session.record("partitions", .array(evidence))
            guard problems.isEmpty else {
                throw RestoreVerificationFailed(backup: manifest.id, table: table.description, problems: problems)
            }
            return found
        }
    }

    // MARK: - Into place

    /// Moves one verified partition from `staging` into the live table on every shard that holds
    /// it, with `REPLACE PARTITION` (atomic per partition on a shard: the old parts or the new,
    /// never a mix), then counts it in the live table. Replicated tables do it on one replica per
    /// shard; the others fetch the new parts. A Ctrl-C meanwhile waits for the step to finish on
    /// every shard, so the partition is not left restored on one shard and old on another.
    package func replace(_ partition: PartitionChange, of restore: TableRestore, from staging: QualifiedTable,
                         staged: PartitionCounts) throws {
        let live = restore.destination
        try session.step("\(partition.action == .add ? "add" : "replace") partition \(partition.id) of \(live)") {
            var evidence: [JSONValue] = []
            for shard in servers.shards {
                let rows = staged.rows(shard: shard.shard, partition: partition.id)
                let before = restore.current.rows(shard: shard.shard, partition: partition.id)
                // A shard the backup holds nothing of this partition on keeps what it has: a
                // REPLACE from an empty staging partition would drop it.
                guard rows > 0 else { continue }
                let sql: SQLFragment = try "ALTER TABLE \(live.sql) REPLACE PARTITION ID \(literal: partition.id) FROM \(staging.sql)"
                let server = shard.primary.uninterruptible()
                try server.execute(sql, options: .init(timeout: Self.longTimeout))
                let after = try PartitionCounts.read(live, on: server)[partition.id] ?? 0
                evidence.append(["shard": .number(Double(shard.shard)), "before": .number(Double(before)),
                                 "after": .number(Double(after)), "statement": .string(sql.sql)])
                guard after == rows else {
                    throw RestoreVerificationFailed(backup: manifest.id, table: live.description, problems: [
                        "partition \(partition.id) on shard \(shard.shard) holds \(after) rows after REPLACE PARTITION, the verified staging copy \(rows)",
                    ])
                }
            }
            session.record("partition", .string(partition.id))
            session.record("shards", .array(evidence))
        }
    }

    /// Waits for every other replica of each shard to fetch the restored partitions and compares
    /// their counts with the primary's. A replica that lags is reported, not an error: the data
    /// is in place, and ClickHouse goes on fetching.
    package func checkReplicas(_ restores: [TableRestore]) throws -> [String] {
        let replicated = restores.filter { $0.definition.isReplicated && !$0.restored.isEmpty }
        guard !replicated.isEmpty, servers.shards.contains(where: { $0.replicas.count > 1 }) else { return [] }
        return try session.step("wait for the other replicas to follow") {
            var lagging: [String] = []
            var evidence: [JSONValue] = []
            for restore in replicated {
                let table = restore.destination
                for shard in servers.shards {
                    let primary = try PartitionCounts.read(table, on: shard.primary)
                    for replica in shard.replicas.dropFirst() {
                        do {
                            try replica.execute(try "SYSTEM SYNC REPLICA \(table.sql)", options: .init(timeout: 300))
                        } catch {
                            lagging.append("\(table) on \(replica.address): SYSTEM SYNC REPLICA failed: \(error)")
                            continue
                        }
                        let counts = try PartitionCounts.read(table, on: replica)
                        let differing = restore.restoredIDs.filter { (counts[$0] ?? 0) != (primary[$0] ?? 0) }
                        evidence.append(["table": .string(table.description), "replica": .string(replica.address),
                                         "equal": .bool(differing.isEmpty)])
                        if !differing.isEmpty {
                            lagging.append("\(table) on \(replica.address) differs in partition\(differing.count == 1 ? "" : "s") \(differing.joined(separator: ", "))")
                        }
                    }
                }
            }
            session.record("replicas", .array(evidence))
            for line in lagging { session.context.console.warning(line) }
            return lagging
        }
    }
}
