import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The runner through a test-only mutating command: lock, journal and dry-run behave the same
/// for every mutating command, because every one goes through `MutationDriver`.
final class OperationRunnerTests: XCTestCase {
    /// A plan whose steps are given by the test.
    struct TestPlan: OperationPlan {
        var steps: [String]
        var failAt: String?
        var interruptAt: String?
        var interrupt: Interrupt?

        var spec: OperationSpec {
            OperationSpec(kind: "test", targets: ["thing/one"], inputs: ["steps": .array(steps.map { .string($0) })])
        }
        func describe() -> String { steps.map { "  \($0)\n" }.joined() }
        func describeJSON() -> JSONValue { .array(steps.map { .string($0) }) }
        func execute(in session: OperationSession) throws -> ExitCode {
            for step in steps {
                try session.step(step) {
                    session.record("did", .string(step))
                    if step == interruptAt { interrupt?.raise(SIGINT) }
                    if step == failAt { throw ValidationError("step \(step) broke") }
                }
            }
            return .success
        }
    }

    func table(_ plan: TestPlan) -> Command {
        Command("luminatectl", abstract: "test", subcommands: [
            Command("mutate", abstract: "Change a thing.", plan: { _, _, _ in plan }),
        ])
    }

    func run(_ plan: TestPlan, _ argv: [String], journal: InMemoryJournal, lock: FakeLock, output: CapturedOutput, interrupt: Interrupt = Interrupt()) -> ExitCode {
        var context = Context.fake(output: output).withOperations(journal: journal, lock: lock)
        context.interrupt = interrupt
        return Luminatectl.run(argv, context: context, root: table(plan))
    }

    func testSuccessIsJournaledStepByStepAndReleasesTheLock() {
        let journal = InMemoryJournal(), lock = FakeLock(), output = CapturedOutput()
        let code = run(TestPlan(steps: ["a", "b"]), ["mutate", "--reason", "ticket OPS-1"], journal: journal, lock: lock, output: output)
        XCTAssertEqual(code, .success, output.stderr)
        XCTAssertEqual(journal.events.map(\.event), [.started, .step, .step, .finished])
        XCTAssertEqual(journal.events.compactMap(\.step), ["a", "b"])
        XCTAssertEqual(journal.events[1].evidence, ["did": "a"])
        XCTAssertEqual(journal.events.last?.outcome, "success")
        XCTAssertEqual(Set(journal.events.map(\.operationID)).count, 1)
        XCTAssertEqual(journal.events.first?.reason, "ticket OPS-1")
        XCTAssertEqual(journal.events.first?.commandLine, "luminatectl mutate --reason 'ticket OPS-1'")
        XCTAssertEqual(lock.acquired.count, 1)
        XCTAssertEqual(lock.releases, 1)
        XCTAssertFalse(lock.isHeld)
    }

    func testFailureIsJournaledWithCompletedStepsAndReleasesTheLock() {
        let journal = InMemoryJournal(), lock = FakeLock(), output = CapturedOutput()
        let code = run(TestPlan(steps: ["a", "b", "c"], failAt: "b"), ["mutate"], journal: journal, lock: lock, output: output)
        XCTAssertEqual(code, .usage, "the step's error decides the exit code")
        XCTAssertEqual(journal.events.map(\.event), [.started, .step, .failed])
        XCTAssertEqual(journal.events.last?.message, "step b broke")
        XCTAssertEqual(journal.events.last?.evidence["completedSteps"], ["a"])
        XCTAssertFalse(lock.isHeld)
        XCTAssertEqual(output.stderr, "Error: step b broke\n")
    }

    func testInterruptStopsBeforeTheNextStepJournalsItAndReleasesTheLock() {
        let journal = InMemoryJournal(), lock = FakeLock(), output = CapturedOutput(), interrupt = Interrupt()
        let plan = TestPlan(steps: ["a", "b", "c"], interruptAt: "a", interrupt: interrupt)
        let code = run(plan, ["mutate"], journal: journal, lock: lock, output: output, interrupt: interrupt)
        XCTAssertEqual(code, .interrupted)
        XCTAssertEqual(journal.events.map(\.event), [.started, .step, .interrupted])
        XCTAssertEqual(journal.events.last?.outcome, "interrupted")
        XCTAssertFalse(lock.isHeld)
    }

    func testLockHeldExits75NamingTheHolderAndIsJournaledAsRefused() {
        let since = ISO8601DateFormatter().date(from: "2026-11-29T01:30:00Z")!
        let other = LockHolder(actor: Actor(user: "bob", host: "ops-1"), operationID: "op-1", operation: "restore", environment: "default", since: since)
        let journal = InMemoryJournal(), lock = FakeLock(heldBy: other), output = CapturedOutput()
        let code = run(TestPlan(steps: ["a"]), ["mutate"], journal: journal, lock: lock, output: output)
        XCTAssertEqual(code, .lockHeld)
        XCTAssertEqual(output.stderr, """
            Error: the operations lock (fake lock) is held by bob@ops-1 (restore, operation op-1) since 2026-11-29T01:30:00Z
            hint: wait for it with --wait-lock 30m, or see who holds it with 'luminatectl lock status'

            """)
        XCTAssertEqual(journal.events.map(\.event), [.failed])
        XCTAssertEqual(journal.events.first?.outcome, "refused")
    }

    func testUnwritableJournalMeansNothingRunsAndNoLockIsLeft() {
        let journal = InMemoryJournal(failing: true), lock = FakeLock(), output = CapturedOutput()
        let code = run(TestPlan(steps: ["a"]), ["mutate"], journal: journal, lock: lock, output: output)
        XCTAssertEqual(code, .usage)
        XCTAssertTrue(output.stderr.contains("cannot write the journal"), output.stderr)
        XCTAssertEqual(lock.releases, 1)
        XCTAssertFalse(lock.isHeld)
    }

    func testDryRunPrintsThePlanAndTakesNeitherLockNorJournal() throws {
        let journal = InMemoryJournal(), lock = FakeLock(), output = CapturedOutput()
        let code = run(TestPlan(steps: ["a", "b"]), ["mutate", "--dry-run"], journal: journal, lock: lock, output: output)
        XCTAssertEqual(code, .success)
        XCTAssertEqual(output.stdout, "Plan for test in environment default (dry run: nothing is changed):\n  a\n  b\n")
        XCTAssertTrue(journal.events.isEmpty)
        XCTAssertTrue(lock.acquired.isEmpty)

        let json = CapturedOutput()
        _ = run(TestPlan(steps: ["a"]), ["mutate", "--dry-run", "-o", "json"], journal: journal, lock: lock, output: json)
        XCTAssertEqual(try JSONValue.parse(Data(json.stdout.utf8))["plan"], ["a"])
    }

    func testEveryMutatingCommandHasDryRunWaitLockAndReason() {
        let command = table(TestPlan(steps: []))
        let mutate = command.subcommand(named: "mutate")!
        XCTAssertEqual(mutate.options.map(\.long), ["dry-run", "wait-lock", "reason"])
        XCTAssertTrue(mutate.isMutating)
    }
}
