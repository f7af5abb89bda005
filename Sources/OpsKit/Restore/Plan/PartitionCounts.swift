import Foundation

/// Rows per partition per shard of one table, as `system.parts` counts its active parts on each
/// shard's primary replica, or as a backup's manifest records them.
package struct PartitionCounts: Sendable, Equatable {
    /// shard → partition id → rows.
    package var rows: [Int: [String: UInt64]]

    package init(rows: [Int: [String: UInt64]] = [:]) { self.rows = rows }

    /// What the manifest says the backup holds of a table (the lower bound of a native range).
    package init(backup table: TableBackup) {
        var rows: [Int: [String: UInt64]] = [:]
        for partition in table.partitions { rows[partition.shard, default: [:]][partition.id, default: 0] += partition.rows }
        self.rows = rows
    }

    package func rows(shard: Int, partition: String) -> UInt64 { rows[shard]?[partition] ?? 0 }

    /// Over all shards.
    package func total(_ partition: String) -> UInt64 { rows.values.reduce(0) { $0 + ($1[partition] ?? 0) } }

    package var partitionIDs: [String] { Set(rows.values.flatMap(\.keys)).sorted() }
    package var shards: [Int] { rows.keys.sorted() }
    package var isEmpty: Bool { rows.values.allSatisfy { $0.values.allSatisfy { $0 == 0 } } }

    /// Reads one table's counts from every shard's primary.
    package static func read(_ table: QualifiedTable, on servers: RestoreServers) throws -> PartitionCounts {
        struct Row: Decodable { var partition_id: String; var rows: FlexibleUInt64 }
        let sql: SQLFragment = "SELECT partition_id, sum(rows) AS rows FROM system.parts WHERE active AND database = \(literal: table.database) AND table = \(literal: table.table) GROUP BY partition_id ORDER BY partition_id"
        var counts = PartitionCounts()
        for shard in servers.shards {
            counts.rows[shard.shard] = [:]
            for row in try shard.primary.query(sql, as: Row.self) { counts.rows[shard.shard]![row.partition_id] = row.rows.value }
        }
        return counts
    }

    /// One replica's counts, for checking that replication followed.
    package static func read(_ table: QualifiedTable, on server: any RestoreSQL) throws -> [String: UInt64] {
        try read(table, on: .single(server)).rows[1] ?? [:]
    }
}
