import XCTest
@testable import OpsKit

final class StructureDiffTests: XCTestCase {
    func definition(_ statement: String) throws -> TableDefinition { try TableDefinition(parsing: statement) }

    func testEqualStructuresHaveNoDiff() throws {
        let backup = try definition(CreateStatements.replicated1816)
        let live = try definition(CreateStatements.mergeTree269)
        XCTAssertEqual(StructureDiff.lines(backup: backup, live: live), [])
        XCTAssertEqual(StructureDiff.lines(backup: backup, live: backup), [])
    }

    func testAChangedTypeAndAnAddedColumn() throws {
        let backup = try definition(CreateStatements.replicated1816)
        let live = try definition(CreateStatements.mergeTree269.replacingOccurrences(of: "`value` Float64\n", with: "`value` Float32,\n    `host` LowCardinality(String)\n"))
        XCTAssertEqual(StructureDiff.lines(backup: backup, live: live), [
            "  timestamp DateTime",
            "  tenant String",
            "  metric_name String",
            "  labels String",
            "- value Float64",
            "+ value Float32",
            "+ host LowCardinality(String)",
            "  ENGINE = MergeTree",
            "  PARTITION BY toYYYYMMDD(timestamp)",
            "  ORDER BY (tenant, metric_name, timestamp)",
            "  SETTINGS index_granularity = 8192",
        ])
    }

    func testClausesDifferLineByLine() throws {
        let backup = try definition("CREATE TABLE db.t (ts DateTime, id UInt64) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY ts SETTINGS index_granularity = 8192")
        let live = try definition("CREATE TABLE db.t (id UInt64) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY ts TTL ts + toIntervalDay(30) SETTINGS index_granularity = 8192")
        XCTAssertEqual(StructureDiff.lines(backup: backup, live: live), [
            "- ts DateTime",
            "  id UInt64",
            "- ENGINE = MergeTree",
            "- PARTITION BY toYYYYMM(ts)",
            "+ ENGINE = ReplacingMergeTree",
            "+ PARTITION BY toYYYYMMDD(ts)",
            "  ORDER BY ts",
            "+ TTL ts + toIntervalDay(30)",
            "  SETTINGS index_granularity = 8192",
        ])
    }

    func testReorderedColumnsAreADifference() throws {
        let backup = try definition("CREATE TABLE db.t (a UInt8, b UInt8) ENGINE = Memory")
        let live = try definition("CREATE TABLE db.t (b UInt8, a UInt8) ENGINE = Memory")
        let lines = StructureDiff.lines(backup: backup, live: live)
        XCTAssertFalse(lines.isEmpty)
        XCTAssertEqual(lines.filter { $0.hasPrefix("  ") }, ["  b UInt8", "  ENGINE = Memory"])
        XCTAssertEqual(Set(lines.filter { !$0.hasPrefix("  ") }), ["- a UInt8", "+ a UInt8"])
    }
}
