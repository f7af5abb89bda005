import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The deploy's run through fakes: which kubectl calls it makes in which order, when it rolls
/// back, what it reports and exits with.
final class DeployPlanTests: XCTestCase {
    private let flags = DeployFixtures.flags
    private let applyFlags = DeployFixtures.applyFlags

    private func plan(_ processes: FakeProcessRunner, evaluator: ScriptedEvaluator, options: DeployOptions,
                      preflight: DeployPreflight? = nil) -> DeployPlan {
        let kubectl = Kubectl(target: KubectlTarget(context: "test", namespace: "luminate"), processes: processes)
        return DeployPlan(
            options: options, preflight: preflight ?? DeployFixtures.preflight(point: DeployFixtures.point),
            rollouts: Rollouts(kubectl: kubectl, statefulSetTimeout: 900),
            makeEvaluator: { _, _ in evaluator }, makeBackup: nil, json: false)
    }

    private func expectRollbackPointRead(_ processes: FakeProcessRunner) {
        let live = DeployFixtures.deployment(image: "ghcr.io/luminate/luminate:2.4.1", revision: 3)
        processes.expect("kubectl", flags + ["get", "deployment", "luminate", "-o", "json"], stdout: live.rendered())
    }

    private func expectApplyAndRollout(_ processes: FakeProcessRunner, rollout: (exit: Int32, stdout: String, stderr: String) = (0, "deployment \"luminate\" successfully rolled out\n", "")) {
        processes.expect("kubectl", applyFlags + ["apply", "-f", "-", "-o", "json"], stdout: #"{"kind":"List","items":[]}"#)
        processes.expect("kubectl", flags + ["rollout", "status", "deployment/luminate", "--timeout=60s"],
                         exit: rollout.exit, stdout: rollout.stdout, stderr: rollout.stderr)
    }

    private func expectUndo(_ processes: FakeProcessRunner) {
        let changed = DeployFixtures.deployment(image: "ghcr.io/luminate/luminate:2.5.0", revision: 4)
        processes.expect("kubectl", flags + ["get", "deployment", "luminate", "-o", "json"], stdout: changed.rendered())
        processes.expect("kubectl", flags + ["rollout", "undo", "deployment/luminate", "--to-revision=3"], stdout: "deployment.apps/luminate rolled back\n")
        processes.expect("kubectl", flags + ["rollout", "status", "deployment/luminate", "--timeout=60s"], stdout: "deployment \"luminate\" successfully rolled out\n")
    }

    func testAHealthyDeployIsWatchedOnAFixedGridAndExitsZero() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, clock: ManualClock("2026-12-05T02:10:00Z"), output: output)
        let evaluator = ScriptedEvaluator(Array(repeating: .healthy, count: 11))
        expectRollbackPointRead(processes)
        expectApplyAndRollout(processes)
        let journal = InMemoryJournal()
        let session = try SessionFixtures.session(context: context, journal: journal, kind: "deploy")
        XCTAssertEqual(try plan(processes, evaluator: evaluator, options: try DeployFixtures.options()).execute(in: session), .success)
        XCTAssertEqual(processes.pending, 0)
        // bake 20 s every 2 s from the end of the rollout: 11 evaluations, t0 .. t0 + 20 s.
        let start = try XCTUnwrap(evaluator.asked.first).time
        XCTAssertEqual(evaluator.asked.map { $0.time.timeIntervalSince(start) }, stride(from: 0.0, through: 20, by: 2).map { $0 })
        XCTAssertTrue(evaluator.asked.allSatisfy { $0.windowStart == start }, "every window starts when the rollout finished")
        XCTAssertTrue(output.stdout.contains("healthy for 20s after the rollout"), output.stdout)
        let steps = journal.events.compactMap(\.step)
        XCTAssertEqual(Array(steps.prefix(4)), ["policy gate", "record the rollback point", "apply", "wait for the rollout"])
        XCTAssertEqual(steps.filter { $0.hasPrefix("evaluate ") }.count, 11)
        XCTAssertEqual(session.takeEvidence()["result"]?.string, "healthy")
    }

    func testATriggerRollsBackToTheRecordedRevisionAndReportsTheDecision() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, clock: ManualClock("2026-12-05T02:10:00Z"), output: output)
        let evaluator = ScriptedEvaluator([.healthy, .healthy, .rollback])
        expectRollbackPointRead(processes)
        expectApplyAndRollout(processes)
        expectUndo(processes)
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        XCTAssertEqual(try plan(processes, evaluator: evaluator, options: try DeployFixtures.options()).execute(in: session), .failure)
        XCTAssertEqual(processes.pending, 0)
        XCTAssertEqual(evaluator.asked.count, 3, "the bake ends at the evaluation that decided")
        let report = output.stdout
        XCTAssertTrue(report.contains("Decision: roll back (error-rate)"), report)
        XCTAssertTrue(report.contains("threshold: > 5 %"), report)
        XCTAssertTrue(report.contains("Deployment/luminate/luminate: revision 3 (ghcr.io/luminate/luminate:2.4.1)"), report)
        XCTAssertTrue(report.contains("deployment.apps/luminate rolled back (to revision 3)"), report)
        XCTAssertTrue(report.contains("detection took 0.00 s"), report)
        let decision = session.takeEvidence()
        XCTAssertEqual(decision["result"]?.string, "rolled-back")
        XCTAssertEqual(decision["decision"]?["criterion"]?.string, "error-rate")
        XCTAssertEqual(decision["decision"]?["rolledBack"]?.bool, true)
        XCTAssertEqual(decision["decision"]?["values"]?.array?.count, 2)
    }

    func testNoAutoRollbackReportsAndExitsOneWithoutUndoing() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, output: output)
        expectRollbackPointRead(processes)
        expectApplyAndRollout(processes)
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        let deploy = plan(processes, evaluator: ScriptedEvaluator([.rollback]), options: try DeployFixtures.options(autoRollback: false))
        XCTAssertEqual(try deploy.execute(in: session), .failure)
        XCTAssertEqual(processes.pending, 0, "no undo was issued")
        XCTAssertTrue(output.stdout.contains("not rolled back (--no-auto-rollback); to roll back: luminatectl --env default rollback --deploy op-test"), output.stdout)
        XCTAssertEqual(session.takeEvidence()["result"]?.string, "not-rolled-back")
    }

    func testAStalledRolloutIsAFailedDeployAndRollsBack() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, output: output)
        expectRollbackPointRead(processes)
        expectApplyAndRollout(processes, rollout: (1, "Waiting for deployment \"luminate\" rollout to finish: 0 of 3 updated replicas are available...\n",
                                                   "error: deployment \"luminate\" exceeded its progress deadline\n"))
        expectUndo(processes)
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        let evaluator = ScriptedEvaluator([])
        XCTAssertEqual(try plan(processes, evaluator: evaluator, options: try DeployFixtures.options()).execute(in: session), .failure)
        XCTAssertEqual(processes.pending, 0)
        XCTAssertTrue(evaluator.asked.isEmpty, "no bake after a failed rollout")
        XCTAssertTrue(output.stdout.contains("Decision: roll back (rollout)"), output.stdout)
        XCTAssertTrue(output.stdout.contains("exceeded its progress deadline"), output.stdout)
    }

    func testAnApplyThatFailsMidwayIsNeverASuccessAndOnlyUndoesWhatChanged() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, output: output)
        expectRollbackPointRead(processes)
        processes.expect("kubectl", applyFlags + ["apply", "-f", "-", "-o", "json"], exit: 1,
                         stderr: "Error from server (InternalError): error when applying patch: etcdserver: request timed out\n")
        // The Deployment still has the recorded template: undoing it would go one revision too far.
        let unchanged = DeployFixtures.deployment(image: "ghcr.io/luminate/luminate:2.4.1", revision: 3)
        processes.expect("kubectl", flags + ["get", "deployment", "luminate", "-o", "json"], stdout: unchanged.rendered())
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        XCTAssertEqual(try plan(processes, evaluator: ScriptedEvaluator([]), options: try DeployFixtures.options()).execute(in: session), .failure)
        XCTAssertEqual(processes.pending, 0)
        XCTAssertTrue(output.stdout.contains("Decision: roll back (apply)"), output.stdout)
        XCTAssertTrue(output.stdout.contains("kubectl apply failed"), output.stdout)
        XCTAssertTrue(output.stdout.contains("still has the recorded template: nothing to undo"), output.stdout)
        XCTAssertFalse(output.stdout.contains("Deployed "), "never claimed as deployed")
    }

    func testCtrlCWhileWatchingLeavesTheDeploymentAndNamesTheRollbackCommand() throws {
        let processes = FakeProcessRunner()
        let context = Context.fake(processes: processes)
        expectRollbackPointRead(processes)
        expectApplyAndRollout(processes)
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        let evaluator = InterruptingEvaluator(interrupt: context.interrupt)
        let kubectl = Kubectl(target: KubectlTarget(context: "test", namespace: "luminate"), processes: processes)
        let deploy = DeployPlan(options: try DeployFixtures.options(), preflight: DeployFixtures.preflight(point: DeployFixtures.point),
                                rollouts: Rollouts(kubectl: kubectl, statefulSetTimeout: 900),
                                makeEvaluator: { _, _ in evaluator }, makeBackup: nil, json: false)
        XCTAssertThrowsError(try deploy.execute(in: session)) { error in
            let interrupted = error as? DeployWatchInterrupted
            XCTAssertEqual(interrupted?.exitCode, .interrupted)
            XCTAssertEqual(interrupted?.hint, "to roll it back: luminatectl --env default rollback --deploy op-test --reason '...'")
        }
        XCTAssertEqual(processes.pending, 0, "nothing was undone")
    }

    func testARecordedStatefulSetIsReappliedAsItWas() throws {
        let processes = FakeProcessRunner()
        let kubectl = Kubectl(target: KubectlTarget(context: "test", namespace: "luminate"), processes: processes)
        let object: JSONValue = ["apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "clickhouse-s1", "namespace": "luminate"]]
        let point = RollbackPoint(snapshots: [RollbackPoint.Snapshot(identity: "StatefulSet/luminate/clickhouse-s1", kind: "StatefulSet",
                                                                    name: "clickhouse-s1", namespace: "luminate", object: object)])
        processes.expect("kubectl", flags + ["apply", "-f", "-", "-o", "json"], stdin: object.rendered(), stdout: object.rendered())
        let restored = try Rollouts(kubectl: kubectl, statefulSetTimeout: 900).restore(point)
        XCTAssertEqual(restored.workloads.map(\.object), ["statefulset/clickhouse-s1"])
        XCTAssertEqual(restored.workloads.first?.timeout, 900, "StatefulSets wait for policy.deploy.statefulSetTimeout")
        XCTAssertEqual(restored.actions, ["re-applied the recorded StatefulSet/luminate/clickhouse-s1"])
    }
}

/// Presses Ctrl-C during the first evaluation.
private final class InterruptingEvaluator: BakeEvaluating {
    let interrupt: Interrupt
    init(interrupt: Interrupt) { self.interrupt = interrupt }
    func evaluate(at time: Date, windowStart: Date) -> BakeTick {
        interrupt.raise(SIGINT)
        return BakeTick(time: time, decision: .healthy, status: "", json: .null)
    }
}
