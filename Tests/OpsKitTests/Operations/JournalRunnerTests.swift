import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// A test-only mutating command through `Luminatectl.run` with the real journal file: the
/// runner's records land in the file, chained, and `journal verify` passes afterwards.
final class JournalRunnerTests: JournalTestCase {
    /// Steps given by the test; records evidence at each; may fail at one.
    struct Plan: OperationPlan {
        var steps: [String]
        var failAt: String?
        var ran: Ran

        var spec: OperationSpec {
            OperationSpec(kind: "test", targets: ["thing/one"], inputs: ["steps": .array(steps.map { .string($0) })])
        }
        func describe() -> String { steps.map { "  \($0)\n" }.joined() }
        func describeJSON() -> JSONValue { .array(steps.map { .string($0) }) }
        func execute(in session: OperationSession) throws -> ExitCode {
            ran.mark()
            for step in steps {
                try session.step(step) {
                    session.record("rows", 42)
                    session.record("query", .string("SELECT count() FROM t WHERE password='\(JournalRunnerTests.secret)'"))
                    if step == failAt { throw ValidationError("step \(step) broke") }
                }
            }
            return .success
        }
    }

    /// Whether the plan's `execute` was called.
    final class Ran: Sendable {
        private let state = Mutex(false)
        func mark() { state.withLock { $0 = true } }
        var value: Bool { state.withLock { $0 } }
    }

    static let secret = "runner-secret-7a1c"

    func table(_ plan: Plan) -> Command {
        Command("luminatectl", abstract: "test", subcommands: [
            Command("mutate", abstract: "Change a thing.", plan: { _, _, _ in plan }),
            JournalCommands.group,
        ])
    }

    func run(_ argv: [String], plan: Plan, journalPath: String, lock: FakeLock, live: Bool = false) -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        var context = Context.fake(clock: ManualClock("2026-11-29T02:00:00Z"), output: output,
                                   environment: ["LUMINATECTL_JOURNAL": journalPath, "USER": "alice"])
        if live {
            // What LiveRuntime wires: the journal from the configuration, here with a fake lock.
            context.makeOperations = { configuration, context in
                OperationServices(journal: try LiveOperations.journal(configuration: configuration, context: context), lock: lock)
            }
        } else {
            context = context.withOperations(journal: JournalFile(path: journalPath), lock: lock)
        }
        return (Luminatectl.run(argv, context: context, root: table(plan)), output)
    }

    func testAMutatingCommandIsJournaledToTheFileAndVerifies() throws {
        Redactor.register(secret: Self.secret)
        let path = directory + "/journal.jsonl"
        let lock = FakeLock(), ran = Ran()
        let (code, output) = run(["mutate", "--reason", "OPS-7 token=\(Self.secret)"], plan: Plan(steps: ["a", "b"], ran: ran),
                                 journalPath: path, lock: lock, live: true)
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertTrue(ran.value)
        XCTAssertFalse(lock.isHeld)

        let records = try JournalFixtures.lines(path).map { try JournalRecord.parse($0) }
        XCTAssertEqual(records.map(\.event.event), [.started, .step, .step, .finished])
        XCTAssertEqual(records.map(\.seq), [1, 2, 3, 4])
        let id = records[0].event.operationID
        XCTAssertEqual(records.map(\.id), (1...4).map { "\(id)#\($0)" })
        XCTAssertEqual(records[0].event.commandLine, "luminatectl mutate --reason 'OPS-7 token=<redacted>'")
        XCTAssertEqual(records[0].event.reason, "OPS-7 token=<redacted>")
        XCTAssertEqual(records[0].event.operation, "test")
        XCTAssertEqual(records[0].event.targets, ["thing/one"])
        XCTAssertEqual(records[0].event.evidence, ["lock": "fake lock"])
        XCTAssertEqual(records[1].event.evidence["rows"], 42)
        XCTAssertEqual(records[3].event.outcome, "success")
        XCTAssertFalse(try String(contentsOfFile: path, encoding: .utf8).contains(Self.secret))

        let verify = CapturedOutput()
        let context = Context.fake(output: verify, environment: ["LUMINATECTL_JOURNAL": path])
        XCTAssertEqual(Luminatectl.run(["journal", "verify"], context: context), .success, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.hasPrefix("Journal \(path): 4 records, hash chain intact.\n"), verify.stdout)

        let show = CapturedOutput()
        XCTAssertEqual(Luminatectl.run(["journal", "show", id], context: Context.fake(output: show, environment: ["LUMINATECTL_JOURNAL": path])), .success)
        XCTAssertTrue(show.stdout.contains("  #2  2026-11-29T02:00:00.000Z  step a (0 ms)  [line 2]\n"), show.stdout)
    }

    func testAFailedOperationAndARefusedOneAreJournaledToo() throws {
        let path = directory + "/journal.jsonl"
        let (code, _) = run(["mutate"], plan: Plan(steps: ["a", "b"], failAt: "b", ran: Ran()), journalPath: path, lock: FakeLock())
        XCTAssertEqual(code, .usage)
        let holder = LockHolder(actor: Actor(user: "bob", host: "ops-2"), operationID: "op-1", operation: "restore", environment: "default",
                                since: JournalFixtures.time("2026-11-29T01:00:00Z"))
        let (refused, _) = run(["mutate"], plan: Plan(steps: ["a"], ran: Ran()), journalPath: path, lock: FakeLock(heldBy: holder))
        XCTAssertEqual(refused, .lockHeld)

        let records = try JournalFixtures.lines(path).map { try JournalRecord.parse($0) }
        XCTAssertEqual(records.map(\.event.event), [.started, .step, .failed, .failed])
        XCTAssertEqual(records[2].event.message, "step b broke")
        XCTAssertEqual(records[2].event.evidence["completedSteps"], ["a"])
        XCTAssertEqual(records[3].event.outcome, "refused")
        XCTAssertEqual(try JournalVerifier.verify(path: path).problems, [])
    }

    func testAnUnwritableJournalStopsTheCommandBeforeTheLockAndNothingRuns() throws {
        let readOnly = try readOnlyDirectory()
        let reason = geteuid() == 0 ? "Operation not permitted" : "Permission denied"
        let lock = FakeLock(), ran = Ran()
        let (code, output) = run(["mutate"], plan: Plan(steps: ["a"], ran: ran), journalPath: readOnly + "/journal.jsonl", lock: lock, live: true)
        XCTAssertEqual(code, .failure)
        XCTAssertEqual(output.stderr, """
            Error: cannot open the journal \(readOnly)/journal.jsonl for appending: \(reason)
            hint: every change is journaled before it runs: make the directory writable, or set LUMINATECTL_JOURNAL (or journal.path in the configuration) to a writable file

            """)
        XCTAssertFalse(ran.value, "nothing ran")
        XCTAssertTrue(lock.acquired.isEmpty, "the lock was never taken")
        XCTAssertFalse(lock.isHeld)

        // Without the early check (a journal that breaks after it was opened), the runner still
        // refuses to start and releases the lock.
        let late = FakeLock(), lateRan = Ran()
        let (lateCode, lateOutput) = run(["mutate"], plan: Plan(steps: ["a"], ran: lateRan), journalPath: readOnly + "/journal.jsonl", lock: late)
        XCTAssertEqual(lateCode, .failure)
        XCTAssertTrue(lateOutput.stderr.hasPrefix("Error: cannot open the journal \(readOnly)/journal.jsonl for appending"), lateOutput.stderr)
        XCTAssertFalse(lateRan.value)
        XCTAssertEqual(late.acquired.count, 1)
        XCTAssertFalse(late.isHeld, "no lock is left")
    }
}

