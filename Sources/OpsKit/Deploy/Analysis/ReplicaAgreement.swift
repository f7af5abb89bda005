import Foundation

/// The rows of one replica's settled partitions, as the replica-agreement probe collects them.
package struct ReplicaPartitions: Sendable, Equatable {
    /// One partition of one replicated table on this replica.
    package struct Partition: Sendable, Equatable {
        package var table: String
        package var partition: String
        package var rows: UInt64
        /// Nothing written or merged in it for the settle time (1 hour) on this replica.
        package var settled: Bool

        package init(table: String, partition: String, rows: UInt64, settled: Bool) {
            self.table = table
            self.partition = partition
            self.rows = rows
            self.settled = settled
        }
    }

    package var shard: Int
    package var address: String
    package var partitions: [Partition]

    package init(shard: Int, address: String, partitions: [Partition]) {
        self.shard = shard
        self.address = address
        self.partitions = partitions
    }
}

/// Replicas of a shard must hold the same rows. A partition is compared only when it is settled
/// on every replica that has it: a partition still taking inserts or being merged (which changes
/// row counts in a Replacing or Collapsing table) differs between replicas for a moment without
/// anything being wrong. A settled partition that one replica lacks is a disagreement (0 rows).
package enum ReplicaAgreement {
    /// The disagreements, one line each, and how many partitions were compared.
    package static func compare(_ replicas: [ReplicaPartitions]) -> (findings: [String], compared: Int, shards: Int) {
        var findings: [String] = []
        var compared = 0
        let shards = Dictionary(grouping: replicas, by: \.shard)
        for shard in shards.keys.sorted() {
            let members = shards[shard]!
            guard members.count > 1 else { continue }
            struct Key: Hashable, Comparable {
                var table: String
                var partition: String
                static func < (a: Key, b: Key) -> Bool { (a.table, a.partition) < (b.table, b.partition) }
            }
            var byKey: [Key: [(address: String, partition: ReplicaPartitions.Partition)]] = [:]
            for member in members {
                for partition in member.partitions {
                    byKey[Key(table: partition.table, partition: partition.partition), default: []].append((member.address, partition))
                }
            }
            for key in byKey.keys.sorted() {
                let present = byKey[key]!
                guard present.allSatisfy(\.partition.settled) else { continue }
                compared += 1
                let counts = members.map { member in
                    (member.address, present.first { $0.address == member.address }?.partition.rows ?? 0)
                }
                guard Set(counts.map(\.1)).count > 1 else { continue }
                findings.append("\(key.table) partition \(key.partition): shard \(shard) replicas disagree: "
                                + counts.map { "\($0.0) \($0.1) rows" }.joined(separator: ", "))
            }
        }
        return (findings, compared, shards.values.filter { $0.count > 1 }.count)
    }
}
