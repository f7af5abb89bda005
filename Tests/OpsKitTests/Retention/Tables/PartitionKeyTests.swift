import XCTest
@testable import OpsKit

/// Which partition keys retention can manage, and the days a partition id covers. The ids are
/// those 18.16 wrote for a row at 2026-11-26 10:00:00 (see `DatePartitionKey.Shape`).
final class PartitionKeyTests: XCTestCase {
    let types = ["ts": "DateTime", "d": "Date", "x": "UInt32", "region": "String"]

    func key(_ expression: String) -> DatePartitionKey? {
        if case .manageable(let key) = PartitionKeyClass(expression: expression, columnTypes: types) { return key }
        return nil
    }

    func reason(_ expression: String, types: [String: String]? = nil) -> String? {
        if case .notManageable(let reason) = PartitionKeyClass(expression: expression, columnTypes: types ?? self.types) { return reason }
        return nil
    }

    func day(_ y: Int, _ m: Int, _ d: Int) -> UTCDay { UTCDay(year: y, month: m, day: d)! }

    func testManageableKeysAndTheirDays() {
        XCTAssertEqual(key("toYYYYMMDD(ts)")?.days(partitionID: "20261126"), day(2026, 11, 26)...day(2026, 11, 26))
        XCTAssertEqual(key("toYYYYMM(d)")?.days(partitionID: "202611"), day(2026, 11, 1)...day(2026, 11, 30))
        XCTAssertEqual(key("toYYYYMM(d)")?.days(partitionID: "202402"), day(2024, 2, 1)...day(2024, 2, 29))
        XCTAssertEqual(key("toDate(ts)")?.days(partitionID: "20261126"), day(2026, 11, 26)...day(2026, 11, 26))
        XCTAssertEqual(key("toMonday(ts)")?.days(partitionID: "20261123"), day(2026, 11, 23)...day(2026, 11, 29))
        XCTAssertEqual(key("toStartOfWeek(ts)")?.days(partitionID: "20261122"), day(2026, 11, 22)...day(2026, 11, 28))
        XCTAssertEqual(key("toStartOfWeek(ts, 1)")?.shape, .startOfWeek)
        XCTAssertEqual(key("toStartOfMonth(ts)")?.days(partitionID: "20261101"), day(2026, 11, 1)...day(2026, 11, 30))
        XCTAssertEqual(key("toStartOfDay(ts)")?.days(partitionID: "1795651200"), day(2026, 11, 26)...day(2026, 11, 26))
        XCTAssertEqual(key("d")?.days(partitionID: "20261126"), day(2026, 11, 26)...day(2026, 11, 26))
        XCTAssertEqual(key("`d`")?.column, "d")
        XCTAssertEqual(key("toYYYYMMDD(`ts`)")?.column, "ts")
        XCTAssertEqual(key("(toYYYYMMDD(ts))")?.shape, .yyyymmdd, "a one-element tuple is its element")
        XCTAssertEqual(key("toYYYYMMDD(unknown_column)")?.shape, .yyyymmdd, "a function of a column whose type is not known")
    }

    func testIdsTheKeyCannotHaveWritten() {
        XCTAssertNil(key("toYYYYMMDD(ts)")?.days(partitionID: "20261301"))
        XCTAssertNil(key("toYYYYMMDD(ts)")?.days(partitionID: "20260230"))
        XCTAssertNil(key("toYYYYMMDD(ts)")?.days(partitionID: "202611"))
        XCTAssertNil(key("toYYYYMMDD(ts)")?.days(partitionID: "all"))
        XCTAssertNil(key("toYYYYMMDD(ts)")?.days(partitionID: "20261126-1"))
        XCTAssertNil(key("toYYYYMM(d)")?.days(partitionID: "20261126"))
        XCTAssertNil(key("toStartOfMonth(ts)")?.days(partitionID: "20261102"), "not the first of a month")
        XCTAssertNil(key("toStartOfDay(ts)")?.days(partitionID: "1795651201"), "not a midnight")
    }

    func testKeysPartitionRetentionCannotManage() {
        XCTAssertEqual(reason("intHash32(x) % 16"),
                       "the partition key 'intHash32(x) % 16' is not toYYYYMMDD, toYYYYMM, toDate, toMonday, toStartOfWeek, toStartOfMonth or toStartOfDay of a column, or a Date column")
        XCTAssertEqual(reason("(toMonday(d), x % 2)"), "the partition key is a tuple with a part that is not a date: 'x % 2'")
        XCTAssertEqual(reason("tuple(toYYYYMMDD(ts), region)"), "the partition key is a tuple with a part that is not a date: 'region'")
        XCTAssertEqual(reason("(toYYYYMM(d), toMonday(d))"), "the partition key is a tuple of several dates: a partition is not one span of days")
        XCTAssertEqual(reason(""), "the table has no partition key: all its rows are in one partition")
        XCTAssertEqual(reason("tuple()"), "the table has no partition key: all its rows are in one partition")
        XCTAssertEqual(reason("ts"), "the partition key is the column 'ts' of type DateTime, not Date")
        XCTAssertEqual(reason("d", types: [:]), "the partition key is the column 'd', whose type is not known: only a Date column is manageable")
        XCTAssertEqual(reason("toYYYYMMDD(region)"), "the partition key 'toYYYYMMDD(region)' applies toYYYYMMDD to 'region' of type String, not a date or time")
        XCTAssertEqual(reason("toYYYYMMDD(ts, 'Europe/Berlin')"), "the partition key 'toYYYYMMDD(ts, 'Europe/Berlin')' applies toYYYYMMDD to something other than a column")
        XCTAssertEqual(reason("toYYYYMMDD(toDate(ts))"), "the partition key 'toYYYYMMDD(toDate(ts))' applies toYYYYMMDD to something other than a column")
        XCTAssertNotNil(reason("toyyyymmdd(ts)"), "ClickHouse's function names are case-sensitive")
    }

    func testKeysFromACreateStatement() throws {
        let modern = try TableDefinition(parsing: "CREATE TABLE luminate.metrics_local (`ts` DateTime, `value` Float64) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts SETTINGS index_granularity = 8192")
        XCTAssertEqual(PartitionKeyClass(definition: modern), .manageable(DatePartitionKey(expression: "toYYYYMMDD(ts)", column: "ts", shape: .yyyymmdd)))
        // 18.16 prints an old-syntax table so; its implicit key is toYYYYMM of the date column.
        let old = try TableDefinition(parsing: "CREATE TABLE default.t5 ( ts DateTime,  d Date,  x UInt32) ENGINE = MergeTree(d, ts, 8192)")
        XCTAssertEqual(PartitionKeyClass(definition: old), .manageable(DatePartitionKey(expression: "toYYYYMM(d)", column: "d", shape: .yyyymm)))
        let bareDate = try TableDefinition(parsing: "CREATE TABLE t (d Date, x UInt32) ENGINE = MergeTree PARTITION BY d ORDER BY x")
        XCTAssertEqual(PartitionKeyClass(definition: bareDate), .manageable(DatePartitionKey(expression: "d", column: "d", shape: .date)))
        let hashed = try TableDefinition(parsing: "CREATE TABLE t (ts DateTime, x UInt32) ENGINE = ReplicatedMergeTree('/p', 'r') PARTITION BY intHash32(x) % 16 ORDER BY ts")
        XCTAssertEqual(PartitionKeyClass(definition: hashed), .notManageable(reason: "the partition key 'intHash32(x) % 16' is not toYYYYMMDD, toYYYYMM, toDate, toMonday, toStartOfWeek, toStartOfMonth or toStartOfDay of a column, or a Date column"))
        let none = try TableDefinition(parsing: "CREATE TABLE t (ts DateTime) ENGINE = MergeTree ORDER BY ts")
        XCTAssertEqual(PartitionKeyClass(definition: none), .notManageable(reason: "the table has no partition key: all its rows are in one partition"))
        let distributed = try TableDefinition(parsing: "CREATE TABLE luminate.metrics (ts DateTime) ENGINE = Distributed(luminate, luminate, metrics_local, rand())")
        XCTAssertEqual(PartitionKeyClass(definition: distributed), .notManageable(reason: "the engine Distributed holds no partitions"))
    }

    func testDaysAreComputedAsTheCalendarDoes() {
        XCTAssertEqual(day(1970, 1, 1).daysSinceEpoch, 0)
        XCTAssertEqual(day(2026, 11, 26).start, 1_795_651_200)
        XCTAssertNil(UTCDay(year: 2026, month: 2, day: 29))
        XCTAssertNotNil(UTCDay(year: 2000, month: 2, day: 29))
        XCTAssertNil(UTCDay(year: 1900, month: 2, day: 29))
        // From 1583: Foundation's Gregorian calendar is Julian before the 1582 reform.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for days in stride(from: -140_000, through: 800_000, by: 997) {
            let day = UTCDay(daysSinceEpoch: days)
            let (y, m, d) = day.civil
            XCTAssertEqual(UTCDay(year: y, month: m, day: d), day)
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: day.start))
            XCTAssertEqual([c.year, c.month, c.day], [y, m, d], "\(days)")
        }
        XCTAssertEqual(UTCDay.timestamp(1_795_651_200 + 10 * 3600), "2026-11-26T10:00Z")
        XCTAssertEqual(UTCDay.timestamp(1_795_651_200 + 10 * 3600 + 5), "2026-11-26T10:00:05Z")
        XCTAssertEqual(UTCDay(clickHouse: "2026-11-26"), day(2026, 11, 26))
        XCTAssertNil(UTCDay(clickHouse: "0000-00-00"), "ClickHouse's zero date: no date known")
        XCTAssertEqual(UTCDay.seconds(clickHouse: "2026-11-26 10:00:00"), 1_795_651_200 + 36000)
        XCTAssertNil(UTCDay.seconds(clickHouse: "0000-00-00 00:00:00"))
        XCTAssertNil(UTCDay.seconds(clickHouse: "2026-11-26T10:00:00"))
    }
}
