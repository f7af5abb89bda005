import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `journal list | show | verify` through `Luminatectl.run` with a fake context, compared
/// exactly; and the runner writing the real journal file end to end.
final class JournalCommandsTests: JournalTestCase {
    var path: String { directory + "/journal-staging.jsonl" }

    func run(_ argv: [String], now: String = "2026-11-29T06:00:00Z", environment: [String: String]? = nil,
             root: Command = CommandTable.root, operations: ((Context) -> Context)? = nil) -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        var context = Context.fake(clock: ManualClock(now), output: output, environment: environment ?? ["LUMINATECTL_JOURNAL": path])
        if let operations { context = operations(context) }
        return (Luminatectl.run(argv, context: context, root: root), output)
    }

    func writeHistory() throws {
        try JournalFixtures.write(JournalFixtures.history, to: path)
    }

    // MARK: - list

    func testListShowsOneLinePerOperation() throws {
        try writeHistory()
        let (code, output) = run(["journal", "list"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stderr, "")
        XCTAssertEqual(output.stdout, """
            OPERATION                  STARTED               KIND     ENVIRONMENT  ACTOR        OUTCOME      DURATION
            op-0000000000a-aaaaaaaaaa  2026-11-29T02:00:00Z  backup   staging      alice@ops-1  success      3 s
            op-0000000000b-bbbbbbbbbb  2026-11-29T03:00:00Z  restore  staging      bob@ops-2    refused      -
            op-0000000000c-cccccccccc  2026-11-29T04:00:00Z  deploy   staging      ci@runner-7  interrupted  10 s
            op-0000000000d-dddddddddd  2026-11-29T05:00:00Z  scale    staging      alice@ops-1  incomplete   -

            """)
    }

    func testListFiltersBySinceKindAndOperation() throws {
        try writeHistory()
        func ids(_ argv: [String]) -> [String] {
            let (code, output) = run(["journal", "list", "-o", "json"] + argv)
            XCTAssertEqual(code, .success, output.stderr)
            let json = try? JSONValue.parse(Data(output.stdout.utf8))
            return json?["operations"]?.array?.compactMap { $0["operation"]?.string } ?? []
        }
        XCTAssertEqual(ids(["--since", "2h"]), ["op-0000000000c-cccccccccc", "op-0000000000d-dddddddddd"], "2h before the clock's 06:00")
        XCTAssertEqual(ids(["--since", "2026-11-29T03:00:00Z"]).count, 3)
        XCTAssertEqual(ids(["--since", "2026-11-29T05:30:00+02:00"]).count, 2, "03:30 UTC")
        XCTAssertEqual(ids(["--since", "2026-11-30"]), [])
        XCTAssertEqual(ids(["--kind", "restore"]), ["op-0000000000b-bbbbbbbbbb"])
        XCTAssertEqual(ids(["--operation", "op-0000000000c"]), ["op-0000000000c-cccccccccc"])

        let (code, output) = run(["journal", "list", "--since", "yesterday"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, "Error: --since must be a duration like 24h or 7d, or an RFC 3339 time like 2026-11-29T02:00:00Z, not 'yesterday'\n")

        let (none, empty) = run(["journal", "list", "--kind", "rollback"])
        XCTAssertEqual(none, .success)
        XCTAssertEqual(empty.stdout, "No journaled operations in \(path) match.\n")
    }

    func testListEventsShowsEveryRecord() throws {
        try writeHistory()
        let (code, output) = run(["journal", "list", "--events", "--since", "2h30m"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stdout, """
            TIME                      RECORD                       EVENT        KIND    DETAIL
            2026-11-29T04:00:00.000Z  op-0000000000c-cccccccccc#1  started      deploy  by ci@runner-7 (github-actions: acme/luminate run 99)
            2026-11-29T04:00:04.000Z  op-0000000000c-cccccccccc#2  step         deploy  step apply (4 s)
            2026-11-29T04:00:10.000Z  op-0000000000c-cccccccccc#3  interrupted  deploy  interrupted: interrupted before step 'wait' (10 s)
            2026-11-29T05:00:00.000Z  op-0000000000d-dddddddddd#1  started      scale   by alice@ops-1

            """)
    }

    func testListAsJSON() throws {
        try writeHistory()
        let (code, output) = run(["journal", "list", "-o", "json", "--kind", "backup"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stdout, """
            {
              "journal": "\(path)",
              "operations": [
                {
                  "operation": "op-0000000000a-aaaaaaaaaa",
                  "kind": "backup",
                  "environment": "staging",
                  "actor": {
                    "user": "alice",
                    "host": "ops-1",
                    "ci": null
                  },
                  "started": "2026-11-29T02:00:00.000Z",
                  "ended": "2026-11-29T02:00:03.000Z",
                  "outcome": "success",
                  "durationSeconds": 3,
                  "records": 3,
                  "commandLine": "luminatectl backup --env staging",
                  "targets": [
                    "clickhouse/luminate.metrics_local"
                  ],
                  "reason": "nightly"
                }
              ],
              "warnings": []
            }

            """)

        let (_, events) = run(["journal", "list", "-o", "json", "--events", "--operation", "op-0000000000b"])
        let records = try JSONValue.parse(Data(events.stdout.utf8))["records"]?.array ?? []
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["id"], "op-0000000000b-bbbbbbbbbb#1")
        XCTAssertEqual(records.first?["hash"]?.string, try JournalRecord.parse(try JournalFixtures.lines(path)[3]).hash)
    }

    func testListWithoutAJournalSaysSo() {
        let (code, output) = run(["journal", "list"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stdout, "No journal at \(path) yet: no operation has been journaled for environment 'default' here.\n")
        let (_, json) = run(["journal", "list", "-o", "json"])
        XCTAssertEqual(try JSONValue.parse(Data(json.stdout.utf8))["operations"], [])
    }

    func testListWarnsAboutLinesThatAreNotRecordsAndGoesOn() throws {
        try writeHistory()
        var lines = try JournalFixtures.lines(path)
        lines.insert("garbage", at: 1)
        lines[8] = String(lines[8].prefix(50))
        try JournalFixtures.writeLines(lines, to: path, trailingNewline: false)
        let (code, output) = run(["journal", "list", "--kind", "scale"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stderr, """
            Warning: line 2 of \(path) is not a journal record and left out; run 'luminatectl journal verify'
            Warning: the last line (9) of \(path) is incomplete, a write was cut short; it is left out

            """)
        XCTAssertEqual(output.stdout, "No journaled operations in \(path) match.\n", "the scale record was the torn line")
    }

    // MARK: - show

    func testShowPrintsEveryRecordWithItsEvidence() throws {
        try writeHistory()
        let (code, output) = run(["journal", "show", "op-0000000000a-aaaaaaaaaa"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stdout, """
            Operation op-0000000000a-aaaaaaaaaa
              kind          backup
              environment   staging
              actor         alice@ops-1
              command line  luminatectl backup --env staging
              targets       clickhouse/luminate.metrics_local
              inputs        {"partition":"20261128"}
              reason        nightly
              started       2026-11-29T02:00:00.000Z
              outcome       success after 3 s

            Records in \(path):
              #1  2026-11-29T02:00:00.000Z  started  [line 1]
                  evidence  {"lock":"fake lock"}
              #2  2026-11-29T02:00:01.500Z  step freeze (1.5 s)  [line 2]
                  evidence  {"parts":12}
              #3  2026-11-29T02:00:03.000Z  finished: success (3 s)  [line 3]

            """)
    }

    func testShowAFailedAndAnUnfinishedOperation() throws {
        try writeHistory()
        let (_, refused) = run(["journal", "show", "op-0000000000b"])
        XCTAssertEqual(refused.stdout, """
            Operation op-0000000000b-bbbbbbbbbb
              kind          restore
              environment   staging
              actor         bob@ops-2
              command line  luminatectl restore --env staging
              targets       clickhouse/luminate.metrics_local
              started       2026-11-29T03:00:00.000Z
              outcome       refused

            Records in \(path):
              #1  2026-11-29T03:00:00.000Z  failed (refused): the operations lock (fake lock) is held by alice@ops-1 (backup, operation op-x) since 2026-11-29T02:59:00Z  [line 4]

            """)
        let (_, deploy) = run(["journal", "show", "op-0000000000c-cccccccccc#2"])
        XCTAssertTrue(deploy.stdout.contains("  actor         ci@runner-7 (github-actions: acme/luminate run 99)\n"), deploy.stdout)
        XCTAssertTrue(deploy.stdout.contains("  #3  2026-11-29T04:00:10.000Z  interrupted: interrupted before step 'wait' (10 s)  [line 7]\n      evidence  {\"completedSteps\":[\"apply\"]}\n"), deploy.stdout)
        let (_, scale) = run(["journal", "show", "op-0000000000d"])
        XCTAssertTrue(scale.stdout.contains("  outcome       incomplete: no end record (still running, or the process was killed)\n"), scale.stdout)
    }

    func testShowNamesUnknownAndAmbiguousIDs() throws {
        try writeHistory()
        let (code, output) = run(["journal", "show", "op-9"])
        XCTAssertEqual(code, .usage)
        XCTAssertEqual(output.stderr, """
            Error: no operation 'op-9' in the journal \(path)
            hint: 'luminatectl journal list' shows the operations journaled for this environment

            """)
        let (ambiguous, text) = run(["journal", "show", "op-00"])
        XCTAssertEqual(ambiguous, .usage)
        XCTAssertEqual(text.stderr, """
            Error: 'op-00' matches 4 operations (op-0000000000a-aaaaaaaaaa, op-0000000000b-bbbbbbbbbb, op-0000000000c-cccccccccc, op-0000000000d-dddddddddd)
            hint: give more of the id

            """)
    }

    func testShowAsJSON() throws {
        try writeHistory()
        let (code, output) = run(["journal", "show", "op-0000000000a", "-o", "json"])
        XCTAssertEqual(code, .success)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json["operation"]?["outcome"], "success")
        XCTAssertEqual(json["records"]?.array?.map { $0["event"] }, ["started", "step", "finished"])
        XCTAssertEqual(json["records"]?[1]?["evidence"], ["parts": 12])
        XCTAssertTrue(output.stdout.contains("\"v\": 1,\n      \"id\": \"op-0000000000a-aaaaaaaaaa#1\",\n      \"seq\": 1,"), "records keep the file's key order")
    }

    // MARK: - verify

    func testVerifyAnIntactJournal() throws {
        try writeHistory()
        let last = try JournalRecord.parse(try JournalFixtures.lines(path)[7])
        let (code, output) = run(["journal", "verify"])
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(output.stdout, """
            Journal \(path): 8 records, hash chain intact.
            Last record: seq 8, op-0000000000d-dddddddddd#1, hash \(last.hash)

            """)
        let (_, json) = run(["journal", "verify", "-o", "json"])
        XCTAssertEqual(json.stdout, """
            {
              "journal": "\(path)",
              "intact": true,
              "lines": 8,
              "records": 8,
              "last": {
                "seq": 8,
                "id": "op-0000000000d-dddddddddd#1",
                "hash": "\(last.hash)"
              },
              "problems": []
            }

            """)
    }

    func testVerifyNamesTheChangedRecordAndExits1() throws {
        try writeHistory()
        var lines = try JournalFixtures.lines(path)
        let removed = lines.remove(at: 1)
        try JournalFixtures.writeLines(lines, to: path)
        let removedPrev = try JournalRecord.parse(lines[1]).prev
        XCTAssertEqual(removedPrev, SHA256.hex(removed))
        let (code, output) = run(["journal", "verify"])
        XCTAssertEqual(code, .failure)
        XCTAssertEqual(output.stdout, """
            Journal \(path): 7 records, 1 problem:
              line 2 (op-0000000000a-aaaaaaaaaa#3): removed: seq 3 follows seq 1: record seq 2 is missing after line 1 (prev is \(removedPrev.prefix(12))... but line 1 hashes to \(SHA256.hex(lines[0]).prefix(12))...)

            """)
        XCTAssertEqual(output.stderr, """
            Error: the journal \(path) failed verification: 1 problem, the first at line 2
            hint: records were changed after they were written; compare with the ClickHouse mirror ('luminatectl journal sync') or a copy of the file, and keep this one as evidence

            """)
        let (jsonCode, json) = run(["journal", "verify", "-o", "json"])
        XCTAssertEqual(jsonCode, .failure)
        let problems = try JSONValue.parse(Data(json.stdout.utf8))["problems"]?.array ?? []
        XCTAssertEqual(problems.map { $0["kind"] }, ["removed"])
        XCTAssertEqual(problems.first?["line"], 2)
        XCTAssertEqual(problems.first?["id"], "op-0000000000a-aaaaaaaaaa#3")
    }

    func testVerifyWithoutAJournalFails() {
        let (code, output) = run(["journal", "verify"])
        XCTAssertEqual(code, .failure)
        XCTAssertEqual(output.stderr, """
            Error: there is no journal at \(path)
            hint: no operation has been journaled here for this environment, or the file was moved; check LUMINATECTL_JOURNAL / journal.path

            """)
    }

    // MARK: - help

    func testJournalGroupHelp() {
        let (code, output) = run(["journal", "--help"])
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stdout, """
            OVERVIEW: Read and check the journal of operations.

            Every mutating operation appends tamper-evident records (started, each step,
            finished, failed or interrupted) to a JSON Lines file, one per environment, and to
            a ClickHouse table when journal.mirror is configured. See docs/journal.md.

            USAGE: luminatectl journal <subcommand>

            OPTIONS:
              -h, --help              Show help information.

            SUBCOMMANDS:
              list                    List journaled operations, oldest first.
              show                    Show every record of one operation, with its evidence.
              verify                  Check the journal's hash chain and name any edited,
                                      removed or reordered record.
              sync                    Send the records the ClickHouse mirror is missing, and
                                      check the ones it has.

              See 'luminatectl help journal <subcommand>' for detailed help.

              See 'luminatectl --help' for the global options (--env, -o, -v, ...).

            """)
    }
}
