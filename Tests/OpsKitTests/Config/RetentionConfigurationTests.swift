import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `policy.retention.tables` (table or glob → keep, most specific wins) and
/// `policy.retention.backups.incompleteAfter`.
final class RetentionConfigurationTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "luminatectl-retention-policy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    var path: String { "\(directory!)/luminatectl.yaml" }

    /// Writes `environments: {lab: {policy: {retention: <retention>}}}`: the retention lines start
    /// at line 5, indented 8 columns.
    func load(retention: String) throws -> Configuration {
        let text = "environments:\n  lab:\n    policy:\n      retention:\n" + retention.split(separator: "\n")
            .map { "        " + $0 }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var globals = GlobalOptions()
        globals.configFile = path
        return try ConfigurationLoader(context: Context.fake(workingDirectory: directory)).load(globals)
    }

    func error(retention: String) -> String {
        do {
            _ = try load(retention: retention)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func mark(_ line: Int, _ column: Int) -> SourceMark { SourceMark(file: path, line: line, column: column) }

    func testTablesAndIncompleteAfter() throws {
        let c = try load(retention: """
            metrics: 90d
            tables:
              luminate.metrics_local: 30d
              luminate.*_1m: forever
              luminate.*: 60d
            backups:
              incompleteAfter: 12h
            """)
        let r = c.policy.retention
        XCTAssertEqual(r.tables, [
            TableRetentionRule(pattern: "luminate.metrics_local", keep: 30 * 86400),
            TableRetentionRule(pattern: "luminate.*_1m", keep: nil),
            TableRetentionRule(pattern: "luminate.*", keep: 60 * 86400),
        ])
        XCTAssertEqual(r.incompleteBackupsAfter, 12 * 3600)
        XCTAssertEqual(c.policySources["retention.tables.luminate.metrics_local"], mark(7, 35))
        XCTAssertEqual(c.policySources["retention.tables.luminate.*_1m"], mark(8, 26))
        XCTAssertEqual(c.policySources["retention.backups.incompleteAfter"], mark(11, 28))
        XCTAssertNil(c.policySources["retention.backups"], "only incompleteAfter was given under backups")
    }

    func testAGlobOverEveryDatabaseIsQuoted() throws {
        let r = try load(retention: "tables:\n  \"*.metrics_local\": 7d").policy.retention
        XCTAssertEqual(r.tables, [TableRetentionRule(pattern: "*.metrics_local", keep: 7 * 86400)])
        XCTAssertEqual(r.keep(table: "staging.metrics_local"), 7 * 86400)
    }

    func testDefaults() throws {
        let r = try load(retention: "metrics: 30d").policy.retention
        XCTAssertEqual(r.tables, [])
        XCTAssertEqual(r.incompleteBackupsAfter, 86400)
        XCTAssertEqual(r.keep(table: "luminate.metrics_local"), 30 * 86400, "an unlisted table keeps policy.retention.metrics")
        XCTAssertEqual(RetentionPolicy().incompleteBackupsAfter, 86400)
    }

    func testTheMostSpecificRuleWins() {
        var r = RetentionPolicy()
        r.metrics = 90 * 86400
        r.tables = [
            TableRetentionRule(pattern: "luminate.*", keep: 60 * 86400),
            TableRetentionRule(pattern: "luminate.*_1m", keep: nil),
            TableRetentionRule(pattern: "luminate.metrics_1m", keep: 7 * 86400),
            TableRetentionRule(pattern: "*.events_*", keep: 14 * 86400),
            TableRetentionRule(pattern: "*.*_events", keep: 21 * 86400),
        ]
        XCTAssertEqual(r.keep(table: "luminate.metrics_1m"), 7 * 86400, "an exact name beats every glob")
        XCTAssertNil(r.keep(table: "luminate.logs_1m"), "the longer glob beats luminate.*")
        XCTAssertEqual(r.keep(table: "luminate.metrics_local"), 60 * 86400)
        XCTAssertEqual(r.keep(table: "other.metrics_local"), 90 * 86400, "no rule: policy.retention.metrics")
        XCTAssertEqual(r.keep(table: "other.events_x_events"), 14 * 86400, "equally long globs: the one written first")
        XCTAssertEqual(r.keep(table: "luminate.events_1m"), nil, "luminate.*_1m (13) is longer than *.events_* (10)")
    }

    func testGlobMatchesWithinANamePart() {
        let rule = TableRetentionRule(pattern: "luminate.*_1m", keep: nil)
        XCTAssertTrue(rule.matches("luminate.metrics_1m"))
        XCTAssertTrue(rule.matches("luminate._1m"))
        XCTAssertFalse(rule.matches("luminate.metrics_1m_old"))
        XCTAssertFalse(rule.matches("luminate2.metrics_1m"))
        XCTAssertFalse(TableRetentionRule(pattern: "*.metrics", keep: nil).matches("a.b.metrics"), "* never crosses a dot")
        XCTAssertTrue(TableRetentionRule(pattern: "l*e.m*s*", keep: nil).matches("luminate.metrics_local_s"))
        XCTAssertTrue(TableRetentionRule(pattern: "luminate.metrics_local", keep: nil).matches("luminate.metrics_local"))
        XCTAssertFalse(TableRetentionRule(pattern: "luminate.metrics_local", keep: nil).matches("luminate.metrics_local2"))
    }

    func testBadPatternsAreRefusedWithTheirPlace() {
        XCTAssertEqual(error(retention: "tables:\n  luminate.metrics?: 30d"),
                       "\(path):6:11: environments.lab.policy.retention.tables.luminate.metrics?: 'luminate.metrics?' holds '?': a pattern is letters, digits, _ and *, with * matching within a name part")
        XCTAssertEqual(error(retention: "tables:\n  metrics_local: 30d"),
                       "\(path):6:11: environments.lab.policy.retention.tables.metrics_local: expected database.table (a glob may use * within a part), found 'metrics_local'")
        XCTAssertEqual(error(retention: "tables:\n  luminate.: 30d"),
                       "\(path):6:11: environments.lab.policy.retention.tables.luminate.: 'luminate.' has an empty database or table part")
        XCTAssertEqual(error(retention: "tables: [luminate.metrics]"),
                       "\(path):5:17: environments.lab.policy.retention.tables: expected a mapping of table or glob to a keep, found a list")
    }

    func testBadKeepsAreRefused() {
        XCTAssertEqual(error(retention: "tables:\n  luminate.metrics_local: soon"),
                       "\(path):6:35: environments.lab.policy.retention.tables.luminate.metrics_local: expected a duration like 30d or forever, found 'soon'")
        XCTAssertEqual(error(retention: "tables:\n  luminate.metrics_local: 0d"),
                       "\(path):6:35: environments.lab.policy.retention.tables.luminate.metrics_local: expected a duration like 30d or forever, found '0d'")
        XCTAssertEqual(error(retention: "metrics: never"),
                       "\(path):5:18: environments.lab.policy.retention.metrics: expected a duration like 30d or forever, found 'never'")
        XCTAssertEqual(error(retention: "backups:\n  incompleteAfter: forever"),
                       "\(path):6:28: environments.lab.policy.retention.backups.incompleteAfter: expected a duration like 90s, 5m, 1h or 30d, found 'forever'")
        XCTAssertEqual(error(retention: "backups:\n  incompleteAfte: 1h"),
                       "\(path):6:11: environments.lab.policy.retention.backups.incompleteAfte: unknown key 'incompleteAfte' (did you mean 'incompleteAfter'?); known keys: hourly, daily, weekly, monthly, incompleteAfter")
    }

    func testADuplicatePatternIsRefused() {
        XCTAssertEqual(error(retention: "tables:\n  luminate.*_1m: 30d\n  luminate.metrics: 7d\n  luminate.*_1m: 60d"),
                       "\(path):8:11: environments.lab.policy.retention.tables.luminate.*_1m: pattern 'luminate.*_1m' is already given at line 6, column 11")
    }

    func testConfigViewShowsEachPatternWithItsSource() throws {
        try """
            environments:
              lab:
                policy:
                  retention:
                    tables: {luminate.metrics_local: 30d, "luminate.*_1m": forever}
                    backups: {incompleteAfter: 6h}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let output = CapturedOutput()
        let code = Luminatectl.run(["--config", path, "config", "view"], context: Context.fake(output: output, workingDirectory: directory))
        XCTAssertEqual(code, .success, output.stderr)
        let lines = output.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: " +", with: " ", options: .regularExpression) }
        for line in [
            "policy.retention.metrics 90d default",
            "policy.retention.tables[luminate.metrics_local] 30d file \(path):5:42",
            "policy.retention.tables[luminate.*_1m] forever file \(path):5:64",
            "policy.retention.backups hourly 24, daily 7, weekly 4, monthly 3 default",
            "policy.retention.backups.incompleteAfter 6h file \(path):6:36",
        ] {
            XCTAssertTrue(lines.contains(line), "missing: \(line)\n\(output.stdout)")
        }
    }
}
