/// One active part as `system.parts` lists it on one shard (one replica of each shard: replicas
/// hold the same parts, and counting both would double the rows). Several parts make a
/// partition, on one shard or several.
package struct PartRecord: Sendable, Equatable {
    package var shard: String
    package var partitionID: String
    /// `max_date`: filled when the key's column is a Date; nil for ClickHouse's `0000-00-00`.
    package var maxDate: UTCDay?
    /// `max_time` in seconds since the epoch: filled when the key's column is a DateTime; nil for
    /// `0000-00-00 00:00:00`.
    package var maxTime: Double?
    package var rows: Int
    package var bytes: Int

    package init(shard: String, partitionID: String, maxDate: UTCDay?, maxTime: Double?, rows: Int, bytes: Int) {
        self.shard = shard
        self.partitionID = partitionID
        self.maxDate = maxDate
        self.maxTime = maxTime
        self.rows = rows
        self.bytes = bytes
    }

    /// A row as ClickHouse prints it (`max_date` `2026-11-26`, `max_time` `2026-11-26 10:00:00`,
    /// either possibly zero or, for a server without the column, absent).
    package init(shard: String, partitionID: String, maxDateText: String?, maxTimeText: String?, rows: Int, bytes: Int) {
        self.init(shard: shard, partitionID: partitionID, maxDate: maxDateText.flatMap(UTCDay.init(clickHouse:)),
                  maxTime: maxTimeText.flatMap(UTCDay.seconds(clickHouse:)), rows: rows, bytes: bytes)
    }
}
