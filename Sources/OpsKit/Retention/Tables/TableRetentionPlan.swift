/// Which partitions of one table partition retention drops, each with the reason: a pure value
/// from the table's key, its parts, the keep and the time. A partition is dropped only when its
/// newest row is strictly older than `now - keep`; its newest row is the latest `max_time` of its
/// parts, or, where they report only dates, the end of the latest `max_date` (a row of that day
/// may be as late as 23:59:59). Where the parts report neither, the last day the partition id
/// covers stands in: the key puts no row later. A partition id the key cannot have written is
/// kept, never guessed at.
package struct TableRetentionPlan: Sendable, Equatable {
    package enum Action: String, Sendable, Equatable {
        case drop
        case keep
    }

    package struct Partition: Sendable, Equatable {
        package var id: String
        package var action: Action
        package var reason: String
        /// The UTC days the partition id covers; nil when it cannot be read.
        package var days: ClosedRange<UTCDay>?
        /// The newest row as the reasons word it: `2026-10-01T13:05Z` or `2026-10-01`.
        package var newestRow: String?
        package var rows: Int
        package var bytes: Int
        /// Sorted.
        package var shards: [String]
    }

    package var table: String
    package var key: PartitionKeyClass
    /// Nil: forever.
    package var keep: Double?
    package var now: Double
    /// Oldest first (by the first day covered, then id); empty when the key is not manageable.
    package var partitions: [Partition]
    package var totalRows: Int
    package var totalBytes: Int
    package var dropRows: Int
    package var dropBytes: Int
    package var dropPartitions: Int

    /// `now - keep`: rows strictly older are past the policy. Nil when kept forever.
    package var cutoff: Double? { keep.map { now - $0 } }

    /// The share of the table's rows the plan drops (0 for an empty table), for a
    /// `--max-drop-share` check.
    package var dropShare: Double { totalRows == 0 ? 0 : Double(dropRows) / Double(totalRows) }

    /// Groups `parts` by partition (hashing: O(n)), decides each, and sorts them (O(n log n)).
    package init(table: String, key: PartitionKeyClass, parts: [PartRecord], keep: Double?, now: Double) {
        self.table = table
        self.key = key
        self.keep = keep
        self.now = now
        partitions = []
        totalRows = 0
        totalBytes = 0
        dropRows = 0
        dropBytes = 0
        dropPartitions = 0

        struct Group {
            var id: String
            var maxDate: UTCDay?
            var maxTime: Double?
            var rows = 0
            var bytes = 0
            var shards: [String] = []
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(parts.count)
        var groups: [Group] = []
        for part in parts {
            totalRows += part.rows
            totalBytes += part.bytes
            let at: Int
            if let found = index[part.partitionID] {
                at = found
            } else {
                at = groups.count
                index[part.partitionID] = at
                groups.append(Group(id: part.partitionID))
            }
            if let date = part.maxDate, groups[at].maxDate.map({ date > $0 }) ?? true { groups[at].maxDate = date }
            if let time = part.maxTime, groups[at].maxTime.map({ time > $0 }) ?? true { groups[at].maxTime = time }
            groups[at].rows += part.rows
            groups[at].bytes += part.bytes
            if !groups[at].shards.contains(part.shard) { groups[at].shards.append(part.shard) }
        }
        guard case .manageable(let dateKey) = key else { return }

        let cutoff = self.cutoff
        let policy = keep.map(DurationParser.format) ?? "forever"
        partitions.reserveCapacity(groups.count)
        for group in groups {
            let days = dateKey.days(partitionID: group.id)
            var partition = Partition(id: group.id, action: .keep, reason: "", days: days, newestRow: nil,
                                      rows: group.rows, bytes: group.bytes, shards: group.shards.sorted())
            guard let days else {
                partition.reason = "partition id '\(group.id)' is not one \(dateKey.expression) writes: kept, not guessed at"
                partitions.append(partition)
                continue
            }
            // The newest row, and whether it is strictly older than the cutoff.
            let dateEnd = group.maxDate.map { $0.adding(days: 1).start }
            let newest: String
            let newestEnd: Double
            // A time is a row's own second, older only when strictly before the cutoff; a date's
            // end is the next midnight, which no row of that day reaches.
            var isTime = false
            if let time = group.maxTime, dateEnd.map({ time >= $0 - 1 }) ?? true {
                newest = UTCDay.timestamp(time)
                newestEnd = time
                isTime = true
            } else if let date = group.maxDate {
                newest = date.description
                newestEnd = date.adding(days: 1).start
            } else {
                newest = days.upperBound.description + " (the partition's last day: its parts report no newest row)"
                newestEnd = days.upperBound.adding(days: 1).start
            }
            partition.newestRow = newest
            guard let cutoff else {
                partition.reason = "the policy keeps this table forever"
                partitions.append(partition)
                continue
            }
            let older = isTime ? newestEnd < cutoff : newestEnd <= cutoff
            if older {
                partition.action = .drop
                partition.reason = "older than \(policy): newest row \(newest)"
                dropRows += group.rows
                dropBytes += group.bytes
                dropPartitions += 1
            } else if days.upperBound.adding(days: 1).start <= cutoff {
                partition.reason = "newest row \(newest) is younger than the policy (\(policy)) although the partition's \(dateKey.shape.span) is old"
            } else {
                partition.reason = "younger than the policy (\(policy)): newest row \(newest)"
            }
            partitions.append(partition)
        }
        partitions.sort { a, b in
            switch (a.days, b.days) {
            case let (x?, y?): x.lowerBound != y.lowerBound ? x.lowerBound < y.lowerBound : a.id < b.id
            case (nil, nil): a.id < b.id
            case (_?, nil): true
            case (nil, _?): false
            }
        }
    }
}
