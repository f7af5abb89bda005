import Foundation

/// What a restore does to one partition of one table, decided before anything changes.
package struct PartitionChange: Sendable, Equatable {
    package enum Action: String, Sendable, Equatable {
        /// The live table holds the partition: its rows are replaced by the backup's.
        case replace
        /// The live table does not hold it: the backup's rows are added.
        case add
        /// Not restored: the live partition stays exactly as it is.
        case leave = "leave alone"
    }

    package var id: String
    package var action: Action
    /// Rows the destination holds now, over all shards.
    package var currentRows: UInt64
    /// Rows the backup holds, over all shards (nil for `leave alone`).
    package var restoredRows: UInt64?
    /// A native backup taken while writes landed holds something in `restoredRows...` this.
    package var restoredRowsUpperBound: UInt64?

    package init(id: String, action: Action, currentRows: UInt64, restoredRows: UInt64?, restoredRowsUpperBound: UInt64? = nil) {
        self.id = id
        self.action = action
        self.currentRows = currentRows
        self.restoredRows = restoredRows
        self.restoredRowsUpperBound = restoredRowsUpperBound
    }

    package var isRestored: Bool { action != .leave }
}

/// One table of a restore: the backup's definition, the destination, and per partition what
/// happens to it.
package struct TableRestore: Sendable, Equatable {
    package var source: TableBackup
    package var definition: TableDefinition
    /// Where the data ends up: the live table, or the same name in `--into-database`/the drill's
    /// scratch database.
    package var destination: QualifiedTable
    /// Whether the destination exists now (a missing one is created from the backup's definition).
    package var exists: Bool
    /// MergeTree-family tables only; schema-only tables (Distributed, views of data) have none.
    package var partitions: [PartitionChange]
    /// The destination's rows per partition per shard before the restore.
    package var current: PartitionCounts

    package init(source: TableBackup, definition: TableDefinition, destination: QualifiedTable, exists: Bool,
                 partitions: [PartitionChange], current: PartitionCounts) {
        self.source = source
        self.definition = definition
        self.destination = destination
        self.exists = exists
        self.partitions = partitions
        self.current = current
    }

    package var holdsData: Bool { definition.isMergeTreeFamily }
    package var restored: [PartitionChange] { partitions.filter(\.isRestored) }
    package var restoredIDs: [String] { restored.map(\.id) }
    /// Rows the backup holds of the restored partitions.
    package var restoredRows: UInt64 { restored.reduce(0) { $0 + ($1.restoredRows ?? 0) } }
    /// Bytes the backup holds of the restored partitions.
    package var restoredBytes: UInt64 {
        let ids = Set(restoredIDs)
        return source.partitions.filter { ids.contains($0.id) }.reduce(0) { $0 + $1.bytes }
    }
    /// The backup's rows per shard of one partition, as a range (native backups taken during writes).
    package func expected(shard: Int, partition: String) -> ClosedRange<UInt64> {
        let entries = source.partitions.filter { $0.shard == shard && $0.id == partition }
        let low = entries.reduce(0) { $0 + $1.rows }
        let high = entries.reduce(0) { $0 + ($1.rowsUpperBound ?? $1.rows) }
        return low...max(low, high)
    }
    /// Shards the backup holds rows of `partition` on.
    package func shards(of partition: String) -> [Int] {
        Set(source.partitions.filter { $0.id == partition }.map(\.shard)).sorted()
    }
}
