import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Where the journal goes and whether it is mirrored: `journal:` in the configuration,
/// `LUMINATECTL_JOURNAL`, the XDG default, and `config view`.
final class JournalConfigurationTests: JournalTestCase {
    static let sample = """
        defaultEnvironment: staging
        environments:
          staging:
            clickhouse: {url: "http://ch.staging.example:8123", user: ops}
            journal:
              path: ops/staging.jsonl
              mirror: {database: ops_audit}
          lab: {}

        """

    func load(_ yaml: String = sample, environment: [String: String] = [:], env name: String? = nil) throws -> Configuration {
        try yaml.write(toFile: directory + "/luminatectl.yaml", atomically: true, encoding: .utf8)
        var globals = GlobalOptions()
        globals.environment = name
        return try ConfigurationLoader(context: Context.fake(environment: environment, workingDirectory: directory)).load(globals)
    }

    func testPathAndMirrorFromTheFile() throws {
        let c = try load()
        let file = directory + "/luminatectl.yaml"
        XCTAssertEqual(c.journalPath, Sourced(directory + "/ops/staging.jsonl", .file(SourceMark(file: file, line: 6, column: 13))))
        XCTAssertEqual(c.journalMirror, Sourced(JournalMirrorSettings(database: "ops_audit", table: "journal"), .file(SourceMark(file: file, line: 7, column: 15))))
    }

    func testTheEnvironmentVariableWinsAndTheDefaultIsPerEnvironmentUnderXDGState() throws {
        XCTAssertEqual(try load(environment: ["LUMINATECTL_JOURNAL": "j.jsonl"]).journalPath,
                       Sourced(directory + "/j.jsonl", .environment("LUMINATECTL_JOURNAL")))
        XCTAssertEqual(try load(environment: ["XDG_STATE_HOME": "/state", "HOME": "/home/a"], env: "lab").journalPath,
                       Sourced("/state/luminatectl/journal-lab.jsonl", .builtIn))
        XCTAssertEqual(try load(environment: ["HOME": "/home/a"], env: "lab").journalPath,
                       Sourced("/home/a/.local/state/luminatectl/journal-lab.jsonl", .builtIn))
        let nowhere = try load(environment: [:], env: "lab")
        XCTAssertNil(nowhere.journalPath)
        XCTAssertNil(nowhere.journalMirror, "the mirror is off unless configured")
        XCTAssertThrowsError(try LiveOperations.journalPath(nowhere)) { error in
            XCTAssertEqual(error as? JournalError, .noPath(environment: "lab"))
        }
    }

    func testBadJournalSettingsNameTheLine() throws {
        let file = directory + "/luminatectl.yaml"
        XCTAssertThrowsError(try load("environments:\n  lab:\n    journal: {mirror: {table: journal-x}}\n")) { error in
            XCTAssertEqual("\(error)", "\(file):3:31: environments.lab.journal.mirror.table: expected a ClickHouse name matching ^[A-Za-z_][A-Za-z0-9_]*$, found 'journal-x'")
        }
        XCTAssertThrowsError(try load("environments:\n  lab:\n    journal: {pth: x}\n")) { error in
            XCTAssertTrue("\(error)".contains("environments.lab.journal.pth: unknown key 'pth' (did you mean 'path'?)"), "\(error)")
        }
        XCTAssertEqual(try load("environments:\n  lab:\n    journal: {mirror: {}}\n").journalMirror?.value, JournalMirrorSettings())
    }

    func testConfigViewShowsTheJournal() throws {
        let c = try load()
        let rows = ConfigView.rows(c, environment: [:]).filter { $0.key.hasPrefix("journal.") }
        XCTAssertEqual(rows.map(\.key), ["journal.path", "journal.mirror"])
        XCTAssertEqual(rows.map(\.value), [.string(directory + "/ops/staging.jsonl"), "clickhouse ops_audit.journal"])
        XCTAssertEqual(rows.map(\.source), ["file \(directory)/luminatectl.yaml:6:13", "file \(directory)/luminatectl.yaml:7:15"])
        let off = ConfigView.rows(try load(environment: ["HOME": "/h"], env: "lab"), environment: [:]).filter { $0.key.hasPrefix("journal.") }
        XCTAssertEqual(off.map(\.value), ["/h/.local/state/luminatectl/journal-lab.jsonl", "off"])
        XCTAssertEqual(off.map(\.source), ["default", "default"])
    }

    func testTheLiveJournalIsMirroredOnlyWhenConfigured() throws {
        let context = Context.fake(environment: [:], workingDirectory: directory)
        let mirrored = try LiveOperations.journal(configuration: try load(), context: context)
        let mirror = try XCTUnwrap(mirrored as? MirroredJournal)
        XCTAssertEqual(mirror.file.path, directory + "/ops/staging.jsonl")
        XCTAssertEqual(mirror.mirror.target, "clickhouse ch.staging.example:8123 (ops_audit.journal)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/ops/staging.jsonl"), "the file is opened up front")

        let plain = try LiveOperations.journal(configuration: try load(environment: ["HOME": directory], env: "lab"), context: context)
        XCTAssertEqual((plain as? JournalFile)?.path, directory + "/.local/state/luminatectl/journal-lab.jsonl")

        let noServer = try load("environments:\n  lab:\n    journal: {mirror: {}}\n", environment: ["HOME": directory])
        XCTAssertThrowsError(try LiveOperations.journal(configuration: noServer, context: context)) { error in
            XCTAssertEqual((error as? ValidationError)?.message,
                           "journal.mirror is set for environment 'lab' (file \(directory)/luminatectl.yaml:3:23) but no ClickHouse endpoint is configured")
        }
    }
}
