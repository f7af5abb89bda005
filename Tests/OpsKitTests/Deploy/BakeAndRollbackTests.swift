import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The bake's end (a metric still above its threshold keeps it going) and the manual rollback.
final class BakeAndRollbackTests: XCTestCase {
    /// Answers `pending` for the first `pendingUntil` evaluations' worth of seconds past the start.
    private final class PendingEvaluator: BakeEvaluating {
        let pendingFrom: Double
        let pendingUntil: Double
        let asked = Mutex<[Date]>([])
        init(pendingFrom: Double, pendingUntil: Double) {
            self.pendingFrom = pendingFrom
            self.pendingUntil = pendingUntil
        }
        func evaluate(at time: Date, windowStart: Date) -> BakeTick {
            asked.withLock { $0.append(time) }
            let offset = time.timeIntervalSince(windowStart)
            return BakeTick(time: time, decision: .healthy, status: "", json: .null, pending: offset >= pendingFrom && offset < pendingUntil)
        }
    }

    func testABakeEndingWhileAMetricIsAboveItsThresholdGoesOnUntilItClears() throws {
        let context = Context.fake()
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        let evaluator = PendingEvaluator(pendingFrom: 16, pendingUntil: 26)
        let bake = Bake(evaluator: evaluator, duration: 20, interval: 2, overtime: 30)
        guard case .healthy(let evaluations) = try bake.run(from: context.clock.now(), session: session, show: { _, _ in }) else {
            return XCTFail("the metric fell back: healthy")
        }
        XCTAssertEqual(evaluations, 14, "t = 0 ... 26 s: on past the 20 s bake until the metric was no longer above")
    }

    func testOvertimeIsBoundedByTheLongestWindow() throws {
        let context = Context.fake()
        let session = try SessionFixtures.session(context: context, kind: "deploy")
        let bake = Bake(evaluator: PendingEvaluator(pendingFrom: 0, pendingUntil: 1000), duration: 20, interval: 2, overtime: 10)
        guard case .healthy(let evaluations) = try bake.run(from: context.clock.now(), session: session, show: { _, _ in }) else {
            return XCTFail("expected the bake to end")
        }
        XCTAssertEqual(evaluations, 16, "t = 0 ... 30 s, never longer (the evaluator decides a sustained breach long before)")
    }

    func testAManualRollbackReturnsToTheRecordedRevisionAndSaysManual() throws {
        let processes = FakeProcessRunner()
        let output = CapturedOutput()
        let context = Context.fake(processes: processes, output: output)
        let flags = DeployFixtures.flags
        let changed = DeployFixtures.deployment(image: "ghcr.io/luminate/luminate:2.5.0", revision: 4)
        processes.expect("kubectl", flags + ["get", "deployment", "luminate", "-o", "json"], stdout: changed.rendered())
        processes.expect("kubectl", flags + ["rollout", "undo", "deployment/luminate", "--to-revision=3"], stdout: "deployment.apps/luminate rolled back\n")
        processes.expect("kubectl", flags + ["rollout", "status", "deployment/luminate", "--timeout=60s"], stdout: "deployment \"luminate\" successfully rolled out\n")
        let kubectl = Kubectl(target: KubectlTarget(context: "test", namespace: "luminate"), processes: processes)
        let plan = RollbackPlan(point: DeployFixtures.point, deploy: "op-1", toRevision: nil,
                                rollouts: Rollouts(kubectl: kubectl, statefulSetTimeout: 900), json: false)
        XCTAssertTrue(plan.describe().contains("--to-revision=3"), plan.describe())
        let session = try SessionFixtures.session(context: context, kind: "rollback")
        XCTAssertEqual(try plan.execute(in: session), .success)
        XCTAssertEqual(processes.pending, 0)
        XCTAssertTrue(output.stdout.contains("Decision: roll back (manual)"), output.stdout)
        XCTAssertFalse(output.stdout.contains("detection took"), "a manual rollback detects nothing")
        XCTAssertEqual(session.takeEvidence()["decision"]?["rolledBack"]?.bool, true)
    }
}
