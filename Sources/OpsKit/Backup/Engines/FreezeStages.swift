import Foundation

// What one stage of the freeze engine hands on to the next.

/// A table of the database, as the backup records it.
struct TableInfo: Sendable {
    var name: String
    var engine: String
    var createStatement: String

    /// MergeTree, ReplicatedMergeTree, ReplacingMergeTree, ...: the engines FREEZE works on.
    /// Everything else (Distributed, views) is recorded by its schema only.
    var isMergeTree: Bool { engine.hasSuffix("MergeTree") }
}

/// One chosen replica with its data directory; `dataRoot` is nil when it holds no part of the
/// tables (nothing to freeze there).
struct ReplicaData: Sendable {
    var replica: ChosenReplica
    var dataRoot: String?
    /// Table name to its directory below the root (`data/luminate/metrics_local/`).
    var tableDirectories: [String: String]
}

/// One part as FREEZE linked it, with what `system.parts` (or its own files) say it holds.
struct FrozenPart: Sendable, Equatable {
    var name: String
    var partitionID: String
    var rows: UInt64
    var bytes: UInt64
}

/// What one FREEZE of one table on one shard's replica linked.
struct FrozenTable: Sendable {
    var table: String
    var shard: Int
    /// `<root>shadow/<name>/data/<db>/<table>/`.
    var directory: String
    var parts: [FrozenPart]

    /// Rows and bytes per partition, in partition order.
    var partitions: [PartitionBackup] {
        Dictionary(grouping: parts, by: \.partitionID).keys.sorted().map { id in
            let inPartition = parts.filter { $0.partitionID == id }
            return PartitionBackup(shard: shard, id: id, rows: inPartition.reduce(0) { $0 + $1.rows },
                                   bytes: inPartition.reduce(0) { $0 + $1.bytes })
        }
    }
}
