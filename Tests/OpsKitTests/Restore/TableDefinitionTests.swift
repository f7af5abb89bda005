import XCTest
@testable import OpsKit

/// `SHOW CREATE TABLE` as real servers print it.
enum CreateStatements {
    static let replicated1816 = "CREATE TABLE luminate.metrics_local ( timestamp DateTime,  tenant String,  metric_name String,  labels String,  value Float64) "
        + "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/luminate/metrics_local', '{replica}') PARTITION BY toYYYYMMDD(timestamp) "
        + "ORDER BY (tenant, metric_name, timestamp) SETTINGS index_granularity = 8192"
    static let distributed1816 = "CREATE TABLE luminate.metrics ( timestamp DateTime,  tenant String,  metric_name String,  labels String,  value Float64) "
        + "ENGINE = Distributed(luminate, luminate, metrics_local, rand())"
    static let mergeTree269 = "CREATE TABLE luminate.metrics\n(\n    `timestamp` DateTime,\n    `tenant` String,\n    `metric_name` String,\n"
        + "    `labels` String,\n    `value` Float64\n)\nENGINE = MergeTree\nPARTITION BY toYYYYMMDD(timestamp)\n"
        + "ORDER BY (tenant, metric_name, timestamp)\nSETTINGS index_granularity = 8192"
}

final class TableDefinitionTests: XCTestCase {
    let staging = QualifiedTable("luminate_restore_20261130T140500Z", "metrics_local")

    func problem(_ statement: String) -> String? {
        do {
            _ = try TableDefinition(parsing: statement)
            return nil
        } catch let error as TableDefinitionError {
            return error.problem
        } catch {
            return "unexpected \(error)"
        }
    }

    func testClickHouse1816ReplicatedTable() throws {
        let definition = try TableDefinition(parsing: CreateStatements.replicated1816)
        XCTAssertEqual(definition.name, QualifiedTable("luminate", "metrics_local"))
        XCTAssertEqual(definition.engine, "ReplicatedMergeTree")
        XCTAssertTrue(definition.isMergeTreeFamily)
        XCTAssertTrue(definition.isReplicated)
        XCTAssertEqual(definition.text(as: staging, unreplicated: true),
                       "CREATE TABLE `luminate_restore_20261130T140500Z`.`metrics_local` ( timestamp DateTime,  tenant String,  metric_name String,  labels String,  value Float64) "
                       + "ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (tenant, metric_name, timestamp) SETTINGS index_granularity = 8192")
        XCTAssertEqual(definition.text(as: QualifiedTable("luminate", "metrics_local"), unreplicated: false),
                       CreateStatements.replicated1816.replacingOccurrences(of: "luminate.metrics_local (", with: "`luminate`.`metrics_local` ("))
        XCTAssertEqual(definition.normalizedStructure,
                       "(timestamp DateTime, tenant String, metric_name String, labels String, value Float64) ENGINE = MergeTree "
                       + "PARTITION BY toYYYYMMDD(timestamp) ORDER BY (tenant, metric_name, timestamp) SETTINGS index_granularity = 8192")
    }

    func testClickHouse1816DistributedTable() throws {
        let definition = try TableDefinition(parsing: CreateStatements.distributed1816)
        XCTAssertEqual(definition.name, QualifiedTable("luminate", "metrics"))
        XCTAssertEqual(definition.engine, "Distributed")
        XCTAssertFalse(definition.isMergeTreeFamily)
        XCTAssertFalse(definition.isReplicated)
        let expected = "CREATE TABLE `scratch`.`metrics` ( timestamp DateTime,  tenant String,  metric_name String,  labels String,  value Float64) "
            + "ENGINE = Distributed(luminate, luminate, metrics_local, rand())"
        XCTAssertEqual(definition.text(as: QualifiedTable("scratch", "metrics"), unreplicated: true), expected)
        XCTAssertEqual(definition.text(as: QualifiedTable("scratch", "metrics"), unreplicated: false), expected)
        // 26.x quotes Distributed's names; the structure is the same.
        let quoted = try TableDefinition(parsing: CreateStatements.distributed1816
            .replacingOccurrences(of: "Distributed(luminate, luminate, metrics_local, rand())", with: "Distributed('luminate', 'luminate', 'metrics_local', rand())"))
        XCTAssertEqual(quoted.normalizedStructure, definition.normalizedStructure)
    }

    func testClickHouse269Table() throws {
        let definition = try TableDefinition(parsing: CreateStatements.mergeTree269)
        XCTAssertEqual(definition.name, QualifiedTable("luminate", "metrics"))
        XCTAssertEqual(definition.engine, "MergeTree")
        XCTAssertTrue(definition.isMergeTreeFamily)
        XCTAssertFalse(definition.isReplicated)
        XCTAssertEqual(definition.text(as: staging, unreplicated: true),
                       CreateStatements.mergeTree269.replacingOccurrences(of: "luminate.metrics\n", with: "`luminate_restore_20261130T140500Z`.`metrics_local`\n"))
        // The same table as 18.16 prints it, but for the replication: the same structure.
        let old = try TableDefinition(parsing: CreateStatements.replicated1816)
        XCTAssertEqual(definition.normalizedStructure, old.normalizedStructure)
        XCTAssertEqual(StructureDiff.lines(backup: old, live: definition), [])
    }

    func testNormalizedStructureIgnoresNameSpacingAndQuotingButNotTypes() throws {
        let original = try TableDefinition(parsing: CreateStatements.replicated1816)
        let respaced = try TableDefinition(parsing: """
            CREATE TABLE `luminate_restore_20261130T140500Z`.`metrics_copy`
            (
                `timestamp`   DateTime, "tenant" String,
                metric_name String, labels String,
                value Float64
            )
            ENGINE=ReplicatedMergeTree('/clickhouse/tables/{shard}/luminate_restore_20261130T140500Z/metrics_copy', '{replica}')
            PARTITION BY toYYYYMMDD( timestamp )
            ORDER BY ( tenant , metric_name , timestamp )
            SETTINGS index_granularity=8192;
            """)
        XCTAssertEqual(respaced.name, QualifiedTable("luminate_restore_20261130T140500Z", "metrics_copy"))
        XCTAssertEqual(respaced.normalizedStructure, original.normalizedStructure)

        let float32 = try TableDefinition(parsing: CreateStatements.replicated1816.replacingOccurrences(of: "value Float64", with: "value Float32"))
        XCTAssertNotEqual(float32.normalizedStructure, original.normalizedStructure)
        let otherKey = try TableDefinition(parsing: CreateStatements.replicated1816.replacingOccurrences(of: "ORDER BY (tenant, metric_name, timestamp)", with: "ORDER BY (tenant, timestamp)"))
        XCTAssertNotEqual(otherKey.normalizedStructure, original.normalizedStructure)
        let replacing = try TableDefinition(parsing: CreateStatements.replicated1816.replacingOccurrences(of: "ReplicatedMergeTree", with: "ReplicatedReplacingMergeTree"))
        XCTAssertNotEqual(replacing.normalizedStructure, original.normalizedStructure)
    }

    func testOldEngineSyntaxKeepsItsKeysWhenUnreplicated() throws {
        let replicated = try TableDefinition(parsing: "CREATE TABLE luminate.events (date Date, id UInt64) "
            + "ENGINE = ReplicatedMergeTree('/p', '{replica}', date, (id, date), 8192)")
        XCTAssertEqual(replicated.text(as: QualifiedTable("s", "events"), unreplicated: true),
                       "CREATE TABLE `s`.`events` (date Date, id UInt64) ENGINE = MergeTree(date, (id, date), 8192)")
        XCTAssertEqual(replicated.normalizedStructure, "(date Date, id UInt64) ENGINE = MergeTree(date, (id, date), 8192)")

        let plain = try TableDefinition(parsing: "CREATE TABLE luminate.events (date Date, id UInt64) ENGINE = MergeTree(date, (id, date), 8192)")
        XCTAssertFalse(plain.isReplicated)
        XCTAssertEqual(plain.text(as: QualifiedTable("s", "events"), unreplicated: true),
                       "CREATE TABLE `s`.`events` (date Date, id UInt64) ENGINE = MergeTree(date, (id, date), 8192)")
        XCTAssertEqual(plain.normalizedStructure, replicated.normalizedStructure)
    }

    func testEveryMergeTreeFamilyMemberLosesOnlyItsReplication() throws {
        let cases: [(engine: String, unreplicated: String)] = [
            ("ReplicatedReplacingMergeTree('/p/{shard}', '{replica}', ver)", "ReplacingMergeTree(ver)"),
            ("ReplicatedSummingMergeTree('/p', '{replica}', (value, count))", "SummingMergeTree((value, count))"),
            ("ReplicatedCollapsingMergeTree('/p', '{replica}', sign)", "CollapsingMergeTree(sign)"),
            ("ReplicatedAggregatingMergeTree('/p', '{replica}')", "AggregatingMergeTree"),
            ("ReplicatedVersionedCollapsingMergeTree('/p', '{replica}', sign, ver)", "VersionedCollapsingMergeTree(sign, ver)"),
            ("ReplicatedMergeTree", "MergeTree"),
            ("ReplicatedReplacingMergeTree(ver)", "ReplacingMergeTree(ver)"),
            ("ReplacingMergeTree(ver)", "ReplacingMergeTree(ver)"),
            ("MergeTree()", "MergeTree()"),
        ]
        for (engine, unreplicated) in cases {
            let definition = try TableDefinition(parsing: "CREATE TABLE db.t (ts DateTime, ver UInt64, sign Int8) ENGINE = \(engine) ORDER BY ts")
            XCTAssertTrue(definition.isMergeTreeFamily, engine)
            XCTAssertEqual(definition.isReplicated, engine.hasPrefix("Replicated"), engine)
            XCTAssertEqual(definition.text(as: QualifiedTable("s", "t"), unreplicated: true),
                           "CREATE TABLE `s`.`t` (ts DateTime, ver UInt64, sign Int8) ENGINE = \(unreplicated) ORDER BY ts", engine)
        }
        XCTAssertEqual(try TableDefinition(parsing: "CREATE TABLE db.t (ts DateTime) ENGINE = ReplicatedReplacingMergeTree('/p', '{replica}', ver) ORDER BY ts").engine,
                       "ReplicatedReplacingMergeTree")
        for engine in ["Memory", "Log", "Buffer(db, t, 16, 10, 100, 10000, 1000000, 10000000, 100000000)", "Null"] {
            let definition = try TableDefinition(parsing: "CREATE TABLE db.t (ts DateTime) ENGINE = \(engine)")
            XCTAssertFalse(definition.isMergeTreeFamily, engine)
            XCTAssertFalse(definition.isReplicated, engine)
        }
    }

    func testHeadsOtherThanAPlainCreate() throws {
        let columns = "(ts DateTime) ENGINE = MergeTree ORDER BY ts"
        let expected = "CREATE TABLE `s`.`t` \(columns)"
        for head in ["CREATE TABLE IF NOT EXISTS db.t", "ATTACH TABLE db.t", "ATTACH TABLE IF NOT EXISTS db.t",
                     "CREATE TABLE db.t UUID '3f2a7c1e-5b4d-4e8f-9a0b-1c2d3e4f5a6b'", "CREATE TABLE db.t ON CLUSTER luminate",
                     "create table db.t", "  -- from the manifest\n  CREATE TABLE `db`.`t`", "CREATE /* old */ TABLE db.t"] {
            let definition = try TableDefinition(parsing: "\(head) \(columns)")
            XCTAssertEqual(definition.name, QualifiedTable("db", "t"), head)
            XCTAssertEqual(definition.text(as: QualifiedTable("s", "t"), unreplicated: true), expected, head)
        }
        // A metadata file's ATTACH names the table alone, or `_`.
        let attach = try TableDefinition(parsing: "ATTACH TABLE _ UUID '3f2a7c1e-5b4d-4e8f-9a0b-1c2d3e4f5a6b' \(columns)")
        XCTAssertEqual(attach.name, QualifiedTable("", "_"))
        XCTAssertEqual(attach.text(as: QualifiedTable("s", "t"), unreplicated: false), expected)
        // A trailing ';' alone is part of one statement, and not sent.
        XCTAssertEqual(try TableDefinition(parsing: "CREATE TABLE db.t \(columns);\n").text(as: QualifiedTable("s", "t"), unreplicated: false), expected)
    }

    func testQuotesAndParenthesesInsideStringsAndNames() throws {
        let statement = "CREATE TABLE `my db`.\"odd`name\" (`a,b` String DEFAULT 'x, (y); \\' z', `c` Enum8('a' = 1, 'b''s' = 2) COMMENT 'it\\'s; ok') "
            + "ENGINE = ReplicatedMergeTree('/p/\\'q', '{replica}') ORDER BY `a,b` COMMENT 'a table; with (parens)'"
        let definition = try TableDefinition(parsing: statement)
        XCTAssertEqual(definition.name, QualifiedTable("my db", "odd`name"))
        XCTAssertEqual(definition.structureLines, [
            "`a,b` String DEFAULT 'x, (y); \\' z'",
            "c Enum8('a' = 1, 'b''s' = 2) COMMENT 'it\\'s; ok'",
            "ENGINE = MergeTree",
            "ORDER BY `a,b`",
            "COMMENT 'a table; with (parens)'",
        ])
        XCTAssertEqual(definition.text(as: QualifiedTable("s", "t"), unreplicated: true),
                       "CREATE TABLE `s`.`t` (`a,b` String DEFAULT 'x, (y); \\' z', `c` Enum8('a' = 1, 'b''s' = 2) COMMENT 'it\\'s; ok') "
                       + "ENGINE = MergeTree ORDER BY `a,b` COMMENT 'a table; with (parens)'")
    }

    func testAllClausesAreLinesOfTheStructure() throws {
        let definition = try TableDefinition(parsing: """
            CREATE TABLE luminate.events
            (
                `ts` DateTime CODEC(Delta, ZSTD(1)),
                `user` UInt64,
                `payload` String TTL ts + toIntervalDay(7),
                INDEX idx_user user TYPE minmax GRANULARITY 4
            )
            ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/luminate/events', '{replica}')
            PARTITION BY toYYYYMM(ts)
            PRIMARY KEY (user)
            ORDER BY (user, ts, intHash32(user))
            SAMPLE BY intHash32(user)
            TTL ts + toIntervalDay(90)
            SETTINGS index_granularity = 8192, storage_policy = 'default'
            """)
        XCTAssertEqual(definition.structureLines, [
            "ts DateTime CODEC(Delta, ZSTD(1))",
            "user UInt64",
            "payload String TTL ts + toIntervalDay(7)",
            "INDEX idx_user user TYPE minmax GRANULARITY 4",
            "ENGINE = MergeTree",
            "PARTITION BY toYYYYMM(ts)",
            "PRIMARY KEY (user)",
            "ORDER BY (user, ts, intHash32(user))",
            "SAMPLE BY intHash32(user)",
            "TTL ts + toIntervalDay(90)",
            "SETTINGS index_granularity = 8192, storage_policy = 'default'",
        ])
    }

    func testAnythingButOneCreateTableIsRefused() {
        XCTAssertEqual(problem(""), "the statement is empty")
        XCTAssertEqual(problem("  -- nothing\n ;"), "the statement is empty")
        XCTAssertEqual(problem("CREATE TABLE db.t (ts DateTime) ENGINE = MergeTree ORDER BY ts; DROP TABLE db.t"),
                       "more text follows the ';' at offset 62: one CREATE TABLE statement expected")
        XCTAssertEqual(problem("CREATE TABLE db.t (ts DateTime) ENGINE = MergeTree ORDER BY ts;;"),
                       "more text follows the ';' at offset 62: one CREATE TABLE statement expected")
        XCTAssertEqual(problem("CREATE VIEW db.v AS SELECT 1"), "it is CREATE VIEW, not CREATE TABLE")
        XCTAssertEqual(problem("CREATE MATERIALIZED VIEW db.v TO db.t AS SELECT 1"), "it is CREATE MATERIALIZED VIEW, not CREATE TABLE")
        XCTAssertEqual(problem("CREATE OR REPLACE TABLE db.t (ts DateTime) ENGINE = Memory"), "it is CREATE OR REPLACE, not CREATE TABLE")
        XCTAssertEqual(problem("CREATE TEMPORARY TABLE t (ts DateTime) ENGINE = Memory"), "it is CREATE TEMPORARY TABLE, not CREATE TABLE")
        XCTAssertEqual(problem("DROP TABLE db.t"), "it is DROP TABLE, not CREATE TABLE")
        XCTAssertEqual(problem("'CREATE TABLE'"), "it starts with a string, not CREATE TABLE")
        XCTAssertEqual(problem("(SELECT 1)"), "it starts with '(', not CREATE TABLE")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) ENGINE = S3('https://s3/x', 'AKIA', 'secret') 'junk'"), "found a string after the engine S3, where a clause belongs")
        XCTAssertEqual(problem("CREATE TABLE (ts DateTime) ENGINE = Memory"), "expected the table's name, found '('")
        XCTAssertEqual(problem("CREATE TABLE db.t2 AS db.t ENGINE = Memory"), "expected the column list after the table's name, found 'AS'")
        XCTAssertEqual(problem("CREATE TABLE db.t"), "expected the column list after the table's name, found the end")
        XCTAssertEqual(problem("CREATE TABLE db.t () ENGINE = Memory"), "the column list has an empty item")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8,) ENGINE = Memory"), "the column list has an empty item")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8)"), "it has no ENGINE clause")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) ENGINE = Memory AS SELECT 1"), "it creates the table from a query (AS ...)")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) EMPTY ENGINE = Memory"), "found 'EMPTY' after the column list, where a clause belongs")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) ENGINE = "), "expected the engine's name, found the end")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) ENGINE = MergeTree() x ORDER BY a"), "found 'x' after the engine MergeTree, where a clause belongs")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) ENGINE = ReplicatedMergeTree('/p', '{replica}',) ORDER BY a"),
                       "the engine ReplicatedMergeTree has an empty argument")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8 ENGINE = Memory"), "a '(' is not closed")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8)) ENGINE = Memory"), "a ')' at offset 27 closes nothing")
        XCTAssertEqual(problem("CREATE TABLE db.t (a String DEFAULT 'x) ENGINE = Memory"), "a string is not closed (' at offset 36)")
        XCTAssertEqual(problem("CREATE TABLE db.`t (a UInt8) ENGINE = Memory"), "a quoted name is not closed (` at offset 16)")
        XCTAssertEqual(problem("CREATE TABLE db.t (a UInt8) /* ENGINE = Memory"), "a /* comment is not closed")
    }

    /// Every prefix of a real statement, and the statement with any one token left out, either
    /// reads or is refused with a TableDefinitionError: nothing traps.
    func testDamagedStatementsNeverTrap() throws {
        for statement in [CreateStatements.replicated1816, CreateStatements.distributed1816, CreateStatements.mergeTree269,
                          "ATTACH TABLE IF NOT EXISTS _ UUID 'x' ON CLUSTER c (`a` String DEFAULT 'q\\'') ENGINE = ReplicatedReplacingMergeTree('/p', 'r', v) ORDER BY a;"] {
            let scalars = Array(statement.unicodeScalars)
            var variants = (0...scalars.count).map { String(String.UnicodeScalarView(scalars[0..<$0])) }
            let tokens = try SQLTokens(statement).tokens
            for token in tokens {
                variants.append(String(String.UnicodeScalarView(scalars[0..<token.start] + scalars[token.end...])))
            }
            for variant in variants {
                do {
                    let definition = try TableDefinition(parsing: variant)
                    _ = definition.text(as: QualifiedTable("s", "t"), unreplicated: true)
                    _ = StructureDiff.lines(backup: definition, live: try TableDefinition(parsing: statement))
                } catch is TableDefinitionError {
                } catch {
                    XCTFail("\(variant): \(error)")
                }
            }
        }
    }

    func testTheErrorReadsAsAnOperatorError() {
        let error = TableDefinitionError("it is CREATE VIEW, not CREATE TABLE")
        XCTAssertEqual("\(error)", "cannot read the table definition: it is CREATE VIEW, not CREATE TABLE")
        XCTAssertEqual(error.hint, "a table definition must be one CREATE TABLE statement as SHOW CREATE TABLE prints it")
    }

    func testCreateTableFragmentChecksTheTarget() throws {
        let definition = try TableDefinition(parsing: CreateStatements.replicated1816)
        let sql = try SQL.createTable(definition, as: staging, unreplicated: true)
        XCTAssertEqual(sql.sql, definition.text(as: staging, unreplicated: true))
        XCTAssertTrue(sql.sql.hasPrefix("CREATE TABLE `luminate_restore_20261130T140500Z`.`metrics_local` ( timestamp DateTime,"), sql.sql)
        XCTAssertThrowsError(try SQL.createTable(definition, as: QualifiedTable("luminate", "metrics`; DROP TABLE x; --"), unreplicated: true)) { error in
            guard case .invalidIdentifier? = error as? SQLError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SQL.createTable(definition, as: QualifiedTable("", "metrics"), unreplicated: true))
    }
}
