import XCTest
@testable import OpsKit

/// The table retention planner: which partitions are past the policy, and why each is kept or
/// dropped.
final class TableRetentionPlanTests: XCTestCase {
    let daily = PartitionKeyClass.manageable(DatePartitionKey(expression: "toYYYYMMDD(ts)", column: "ts", shape: .yyyymmdd))
    let monthly = PartitionKeyClass.manageable(DatePartitionKey(expression: "toYYYYMM(d)", column: "d", shape: .yyyymm))
    let thirtyDays = 30.0 * 86400

    func day(_ y: Int, _ m: Int, _ d: Int) -> UTCDay { UTCDay(year: y, month: m, day: d)! }
    func at(_ y: Int, _ m: Int, _ d: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Double {
        day(y, m, d).start + Double(hour * 3600 + minute * 60 + second)
    }
    func id(_ day: UTCDay) -> String { day.description.replacingOccurrences(of: "-", with: "") }

    /// Each day from `first` for `count` days: two parts on shard 1 (the newest row at 23:00) and
    /// one on shard 2, as system.parts prints them.
    func dailyParts(from first: UTCDay, count: Int) -> [PartRecord] {
        (0..<count).flatMap { offset -> [PartRecord] in
            let d = first.adding(days: offset)
            return [
                PartRecord(shard: "1", partitionID: id(d), maxDateText: "0000-00-00", maxTimeText: "\(d) 11:00:00", rows: 100, bytes: 1000),
                PartRecord(shard: "1", partitionID: id(d), maxDateText: "0000-00-00", maxTimeText: "\(d) 23:00:00", rows: 50, bytes: 500),
                PartRecord(shard: "2", partitionID: id(d), maxDateText: "0000-00-00", maxTimeText: "\(d) 22:00:00", rows: 150, bytes: 1500),
            ]
        }
    }

    func testSixtyDailyPartitionsThirtyDaysDropsTheThirtyOldest() {
        let first = day(2026, 10, 2)
        let now = at(2026, 12, 1, 12)
        let plan = TableRetentionPlan(table: "luminate.metrics_local", key: daily, parts: dailyParts(from: first, count: 60).shuffled(),
                                      keep: thirtyDays, now: now)
        XCTAssertEqual(plan.partitions.count, 60)
        XCTAssertEqual(plan.partitions.map(\.id), (0..<60).map { id(first.adding(days: $0)) }, "oldest first")
        XCTAssertEqual(plan.partitions.prefix(30).map(\.action), Array(repeating: .drop, count: 30))
        XCTAssertEqual(plan.partitions.suffix(30).map(\.action), Array(repeating: .keep, count: 30))
        XCTAssertEqual(plan.partitions[29].id, "20261031")
        XCTAssertEqual(plan.partitions[0].reason, "older than 30d: newest row 2026-10-02T23:00Z")
        XCTAssertEqual(plan.partitions[30].reason, "younger than the policy (30d): newest row 2026-11-01T23:00Z")
        XCTAssertEqual(plan.partitions[0].rows, 300)
        XCTAssertEqual(plan.partitions[0].bytes, 3000)
        XCTAssertEqual(plan.partitions[0].shards, ["1", "2"])
        XCTAssertEqual(plan.partitions[0].days, first...first)
        XCTAssertEqual(plan.dropPartitions, 30)
        XCTAssertEqual(plan.dropRows, 9000)
        XCTAssertEqual(plan.totalRows, 18000)
        XCTAssertEqual(plan.dropBytes, 90000)
        XCTAssertEqual(plan.totalBytes, 180000)
        XCTAssertEqual(plan.dropShare, 0.5)
        XCTAssertEqual(plan.cutoff, at(2026, 11, 1, 12))
    }

    func testAFreshRowInAnOldDayKeepsThePartition() {
        let parts = [
            PartRecord(shard: "1", partitionID: "20261001", maxDate: nil, maxTime: at(2026, 10, 1, 8), rows: 1000, bytes: 9000),
            PartRecord(shard: "2", partitionID: "20261001", maxDate: nil, maxTime: at(2026, 11, 30, 10), rows: 1, bytes: 90),
            PartRecord(shard: "1", partitionID: "20261002", maxDate: nil, maxTime: at(2026, 10, 2, 8), rows: 1000, bytes: 9000),
        ]
        let plan = TableRetentionPlan(table: "luminate.metrics_local", key: daily, parts: parts, keep: thirtyDays, now: at(2026, 12, 1, 12))
        XCTAssertEqual(plan.partitions.map(\.action), [.keep, .drop])
        XCTAssertEqual(plan.partitions[0].reason,
                       "newest row 2026-11-30T10:00Z is younger than the policy (30d) although the partition's day is old")
        XCTAssertEqual(plan.partitions[0].newestRow, "2026-11-30T10:00Z")
        XCTAssertEqual(plan.dropRows, 1000)
        XCTAssertEqual(plan.dropShare, 1000.0 / 2001.0)
    }

    func testAMonthlyPartitionedTable() {
        // 18.16's old-syntax MergeTree(d, ...): partition ids YYYYMM, the parts' max_date filled.
        let parts = [
            PartRecord(shard: "1", partitionID: "202608", maxDateText: "2026-08-31", maxTimeText: "0000-00-00 00:00:00", rows: 10, bytes: 100),
            PartRecord(shard: "1", partitionID: "202609", maxDateText: "2026-09-30", maxTimeText: "0000-00-00 00:00:00", rows: 20, bytes: 200),
            PartRecord(shard: "1", partitionID: "202610", maxDateText: "2026-10-31", maxTimeText: "0000-00-00 00:00:00", rows: 30, bytes: 300),
            PartRecord(shard: "2", partitionID: "202611", maxDateText: "2026-11-30", maxTimeText: nil, rows: 40, bytes: 400),
        ]
        // 60 days before 2026-12-01T12:00Z is 2026-10-02T12:00Z: September ended before it.
        let plan = TableRetentionPlan(table: "luminate.metrics_1m", key: monthly, parts: parts, keep: 60 * 86400, now: at(2026, 12, 1, 12))
        XCTAssertEqual(plan.partitions.map(\.action), [.drop, .drop, .keep, .keep])
        XCTAssertEqual(plan.partitions[1].reason, "older than 60d: newest row 2026-09-30")
        XCTAssertEqual(plan.partitions[1].days, day(2026, 9, 1)...day(2026, 9, 30))
        XCTAssertEqual(plan.partitions[2].reason, "younger than the policy (60d): newest row 2026-10-31")
        XCTAssertEqual(plan.partitions[3].shards, ["2"])
        XCTAssertEqual(plan.dropShare, 0.3)
    }

    func testANonDateKeyIsNotManaged() {
        let key = PartitionKeyClass(expression: "intHash32(x) % 16", columnTypes: ["x": "UInt32"])
        let parts = [PartRecord(shard: "1", partitionID: "9", maxDate: nil, maxTime: nil, rows: 5, bytes: 50)]
        let plan = TableRetentionPlan(table: "luminate.sessions", key: key, parts: parts, keep: thirtyDays, now: at(2026, 12, 1))
        XCTAssertEqual(plan.partitions, [])
        XCTAssertEqual(plan.dropShare, 0)
        XCTAssertEqual(plan.textLines(), [
            "luminate.sessions: not manageable by partition retention: the partition key 'intHash32(x) % 16' is not toYYYYMMDD, toYYYYMM, toDate, toMonday, toStartOfWeek, toStartOfMonth or toStartOfDay of a column, or a Date column (5 rows kept)",
        ])
        XCTAssertEqual(plan.json()["manageable"], .bool(false))
    }

    /// A partition is dropped only when its newest row is strictly older than now - keep. A row
    /// at exactly the cutoff keeps it; a day known only by its date is older once the midnight
    /// after it is at or before the cutoff (no row of the day reaches that midnight).
    func testTheEdgeAtExactlyThePolicyAge() {
        let now = at(2026, 12, 1)
        let cutoff = at(2026, 11, 1)
        let timed = [
            PartRecord(shard: "1", partitionID: "20261031", maxDate: nil, maxTime: cutoff - 1, rows: 1, bytes: 1),
            PartRecord(shard: "1", partitionID: "20261101", maxDate: nil, maxTime: cutoff, rows: 1, bytes: 1),
        ]
        let plan = TableRetentionPlan(table: "t.a", key: daily, parts: timed, keep: thirtyDays, now: now)
        XCTAssertEqual(plan.cutoff, cutoff)
        XCTAssertEqual(plan.partitions.map(\.action), [.drop, .keep])
        XCTAssertEqual(plan.partitions[0].reason, "older than 30d: newest row 2026-10-31T23:59:59Z")
        XCTAssertEqual(plan.partitions[1].reason, "younger than the policy (30d): newest row 2026-11-01T00:00Z")

        let dated = PartitionKeyClass.manageable(DatePartitionKey(expression: "d", column: "d", shape: .date))
        let byDate = [
            PartRecord(shard: "1", partitionID: "20261031", maxDate: day(2026, 10, 31), maxTime: nil, rows: 1, bytes: 1),
            PartRecord(shard: "1", partitionID: "20261101", maxDate: day(2026, 11, 1), maxTime: nil, rows: 1, bytes: 1),
        ]
        XCTAssertEqual(TableRetentionPlan(table: "t.b", key: dated, parts: byDate, keep: thirtyDays, now: now).partitions.map(\.action), [.drop, .keep])
        XCTAssertEqual(TableRetentionPlan(table: "t.b", key: dated, parts: byDate, keep: thirtyDays, now: now - 1).partitions.map(\.action), [.keep, .keep],
                       "a second earlier the 31st's last second is not yet past the policy")
    }

    func testPartsWithoutANewestRowFallBackToThePartitionsLastDay() {
        let parts = [PartRecord(shard: "1", partitionID: "20261001", maxDate: nil, maxTime: nil, rows: 3, bytes: 30)]
        let plan = TableRetentionPlan(table: "t.a", key: daily, parts: parts, keep: thirtyDays, now: at(2026, 12, 1))
        XCTAssertEqual(plan.partitions[0].action, .drop)
        XCTAssertEqual(plan.partitions[0].reason, "older than 30d: newest row 2026-10-01 (the partition's last day: its parts report no newest row)")
    }

    func testUnreadableIdsAndForeverAreKept() {
        let parts = [
            PartRecord(shard: "1", partitionID: "all", maxDate: nil, maxTime: at(2020, 1, 1), rows: 1, bytes: 1),
            PartRecord(shard: "1", partitionID: "20200101", maxDate: nil, maxTime: at(2020, 1, 1), rows: 1, bytes: 1),
        ]
        let plan = TableRetentionPlan(table: "t.a", key: daily, parts: parts, keep: thirtyDays, now: at(2026, 12, 1))
        XCTAssertEqual(plan.partitions.map(\.id), ["20200101", "all"], "unreadable ids last")
        XCTAssertEqual(plan.partitions[1].action, .keep)
        XCTAssertEqual(plan.partitions[1].reason, "partition id 'all' is not one toYYYYMMDD(ts) writes: kept, not guessed at")
        let forever = TableRetentionPlan(table: "t.a", key: daily, parts: parts, keep: nil, now: at(2026, 12, 1))
        XCTAssertEqual(forever.partitions.map(\.action), [.keep, .keep])
        XCTAssertEqual(forever.partitions[0].reason, "the policy keeps this table forever")
        XCTAssertNil(forever.cutoff)
    }

    func testTextAndJSON() {
        let parts = dailyParts(from: day(2026, 10, 31), count: 2)
        let plan = TableRetentionPlan(table: "luminate.metrics_local", key: daily, parts: parts, keep: thirtyDays, now: at(2026, 12, 1, 12))
        XCTAssertEqual(plan.textLines(), [
            "luminate.metrics_local: partition key toYYYYMMDD(ts), keep 30d, rows older than 2026-11-01T12:00Z dropped",
            "  drop 20261031 2026-10-31 rows 300 bytes 3000 shards 1,2: older than 30d: newest row 2026-10-31T23:00Z",
            "  keep 20261101 2026-11-01 rows 300 bytes 3000 shards 1,2: younger than the policy (30d): newest row 2026-11-01T23:00Z",
            "  drop 1 of 2 partitions, 300 of 600 rows (50%), 3000 bytes",
        ])
        let json = plan.json()
        XCTAssertEqual(json["cutoff"], .string("2026-11-01T12:00Z"))
        XCTAssertEqual(json[path: "totals.dropShare"], .number(0.5))
        XCTAssertEqual(json["partitions"]?[0], .object([
            ("id", .string("20261031")), ("action", .string("drop")), ("reason", .string("older than 30d: newest row 2026-10-31T23:00Z")),
            ("first", .string("2026-10-31")), ("last", .string("2026-10-31")), ("newestRow", .string("2026-10-31T23:00Z")),
            ("rows", .number(300)), ("bytes", .number(3000)), ("shards", .array([.string("1"), .string("2")])),
        ]))
        XCTAssertEqual(plan.renderedJSON(), json.rendered(), "the streamed text is the value's")
        let odd = TableRetentionPlan(table: "t.a", key: daily, parts: [PartRecord(shard: "s\"1", partitionID: "a\\b\n", maxDate: nil, maxTime: nil, rows: 1, bytes: 1)],
                                     keep: nil, now: at(2026, 12, 1))
        XCTAssertEqual(odd.renderedJSON(), odd.json().rendered(), "quotes, backslashes and control characters are escaped")
    }

    /// The issue's scale: 100,000 partitions (200,000 parts read from system.parts text) through
    /// the same code path. Only the result is checked here; the time belongs to a benchmark.
    func testOneHundredThousandPartitions() {
        let last = day(2026, 11, 30)
        let count = 100_000
        var parts: [PartRecord] = []
        parts.reserveCapacity(2 * count)
        for offset in 0..<count {
            let d = last.adding(days: -offset)
            let partition = id(d)
            parts.append(PartRecord(shard: "1", partitionID: partition, maxDateText: "0000-00-00", maxTimeText: "\(d) 12:00:00", rows: 10, bytes: 100))
            parts.append(PartRecord(shard: "2", partitionID: partition, maxDateText: "0000-00-00", maxTimeText: "\(d) 06:00:00", rows: 5, bytes: 50))
        }
        let plan = TableRetentionPlan(table: "luminate.metrics_local", key: daily, parts: parts, keep: thirtyDays, now: at(2026, 12, 1))
        XCTAssertEqual(plan.partitions.count, count)
        XCTAssertEqual(plan.dropPartitions, count - 30)
        XCTAssertEqual(plan.dropRows, (count - 30) * 15)
        XCTAssertEqual(plan.partitions.first?.id, id(last.adding(days: -(count - 1))))
        XCTAssertEqual(plan.partitions.last?.id, "20261130")
        XCTAssertEqual(plan.partitions[count - 31].id, "20261031")
        XCTAssertEqual(plan.partitions[count - 31].action, .drop)
        XCTAssertEqual(plan.partitions[count - 30].action, .keep)
        XCTAssertTrue(zip(plan.partitions, plan.partitions.dropFirst()).allSatisfy { $0.days!.lowerBound < $1.days!.lowerBound })
        XCTAssertEqual(plan.textLines().count, count + 2)
        XCTAssertTrue(plan.renderedJSON().hasSuffix(#"{"id":"20261130","action":"keep","reason":"younger than the policy (30d): newest row 2026-11-30T12:00Z","first":"2026-11-30","last":"2026-11-30","newestRow":"2026-11-30T12:00Z","rows":15,"bytes":150,"shards":["1","2"]}]}"#))
    }
}
