import XCTest
@testable import OpsKit
import OpsKitTestSupport

final class DeployGateTests: XCTestCase {
    let gate = DeployGate(windows: MaintenanceWindow.guideDefaults)
    let minor = ChangeClassification(size: .minor, reasons: ["Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2"])
    let major = ChangeClassification(size: .major, reasons: ["Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes"])
    let approval = EmergencyApproval(approvedBy: "alice", reason: "ingestion drops samples")

    func evaluate(
        _ clock: ManualClock, _ change: ChangeClassification, environment: String = "staging",
        changeRequestRequired: Bool = false, changeRequest: String? = nil, emergency: EmergencyApproval? = nil,
        gate: DeployGate? = nil
    ) -> GateVerdict {
        (gate ?? self.gate).evaluate(GateRequest(
            now: clock.now(), change: change, environment: environment, changeRequestRequired: changeRequestRequired,
            changeRequest: changeRequest, emergency: emergency))
    }

    func testWeeklyWindowEdgesWithAManualClock() {
        let clock = ManualClock("2026-12-05T01:59:59Z")
        XCTAssertFalse(evaluate(clock, minor).isAdmitted, "01:59:59")
        clock.advance(by: 1)
        XCTAssertEqual(evaluate(clock, minor).decision, .admittedInWindow, "02:00:00")
        clock.advance(by: 2 * 3600 - 1)
        XCTAssertEqual(evaluate(clock, minor).decision, .admittedInWindow, "03:59:59")
        clock.advance(by: 1)
        XCTAssertFalse(evaluate(clock, minor).isAdmitted, "04:00:00")
    }

    func testMonthlyWindowEdgesWithAManualClock() {
        let clock = ManualClock("2026-12-06T01:59:59Z")
        XCTAssertFalse(evaluate(clock, major).isAdmitted, "01:59:59")
        clock.advance(by: 1)
        XCTAssertEqual(evaluate(clock, major).decision, .admittedInWindow, "02:00:00")
        clock.advance(by: 2 * 3600 - 1)
        XCTAssertEqual(evaluate(clock, major).decision, .admittedInWindow, "03:59:59")
        clock.advance(by: 1)
        XCTAssertEqual(evaluate(clock, major).decision, .admittedInWindow, "04:00:00: the monthly window runs to 06:00")
        clock.advance(by: 2 * 3600 - 1)
        XCTAssertEqual(evaluate(clock, major).decision, .admittedInWindow, "05:59:59")
        clock.advance(by: 1)
        XCTAssertFalse(evaluate(clock, major).isAdmitted, "06:00:00")
    }

    func testMinorChangeInsideTheWeeklyWindow() throws {
        let verdict = evaluate(ManualClock("2026-12-05T02:30:00Z"), minor)
        XCTAssertEqual(verdict.decision, .admittedInWindow)
        XCTAssertNoThrow(try verdict.requireAdmitted())
        XCTAssertEqual(verdict.openWindow?.description, "weekly, Saturday 2026-12-05 02:00–04:00 UTC")
        XCTAssertEqual(verdict.nextWindow?.description, "monthly, Sunday 2026-12-06 02:00–06:00 UTC", "the next one after this window")
        XCTAssertFalse(verdict.usedEmergency)
        XCTAssertEqual(verdict.lines, [
            "policy gate: admitted: a minor change in the weekly window, Saturday 2026-12-05 02:00–04:00 UTC (closes in 1h 30m)",
            "  Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2",
            "  change request: not required for staging",
        ])
    }

    func testMinorChangeOutsideItsWindowNamesTheNextWindow() {
        // Wednesday 2026-12-02 14:00 UTC.
        let verdict = evaluate(ManualClock("2026-12-02T14:00:00Z"), minor)
        XCTAssertNil(verdict.openWindow)
        XCTAssertEqual(verdict.refusal, .outsideWindow(size: .minor, now: ManualClock("2026-12-02T14:00:00Z").now(), open: nil, next: verdict.nextWindow!))
        XCTAssertThrowsError(try verdict.requireAdmitted()) { error in
            let refusal = error as? GateRefusal
            XCTAssertEqual(refusal?.description,
                           "a minor change outside its maintenance window: the next window that admits it is weekly, Saturday 2026-12-05 02:00–04:00 UTC (in 2d 12h)")
            XCTAssertEqual(refusal?.hint,
                           "deploy from 2026-12-05T02:00:00Z until 2026-12-05T04:00:00Z (opens in 2d 12h), or, if it cannot wait, with --emergency --approved-by NAME --reason TEXT (journaled)")
            XCTAssertEqual(refusal?.exitCode, .failure)
        }
        XCTAssertEqual(verdict.lines, [
            "policy gate: refused: a minor change outside its maintenance window: the next window that admits it is weekly, Saturday 2026-12-05 02:00–04:00 UTC (in 2d 12h)",
            "  Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2",
            "  change request: not required for staging",
        ])
    }

    func testMajorChangeWaitsForTheMonthlyWindow() {
        let verdict = evaluate(ManualClock("2026-12-02T14:00:00Z"), major)
        XCTAssertEqual(verdict.refusal?.description,
                       "a major change outside its maintenance window: the next window that admits it is monthly, Sunday 2026-12-06 02:00–06:00 UTC (in 3d 12h)")
        XCTAssertEqual(evaluate(ManualClock("2026-12-06T02:00:00Z"), major).decision, .admittedInWindow)
    }

    func testMajorChangeDuringTheWeeklyWindowIsRefused() {
        // August 2026: the weekly window on Saturday the 1st, the first Sunday the day after.
        let verdict = evaluate(ManualClock("2026-08-01T03:00:00Z"), major)
        XCTAssertEqual(verdict.openWindow?.window.name, "weekly", "the window it is in, though it does not admit the change")
        XCTAssertEqual(verdict.refusal?.description,
                       "a major change during the weekly window, which admits only minor changes: the next window that admits it is monthly, Sunday 2026-08-02 02:00–06:00 UTC (in 23h)")
        XCTAssertEqual(verdict.json["window"], ["name": "weekly", "start": "2026-08-01T02:00:00Z", "end": "2026-08-01T04:00:00Z", "admits": "minor"])
    }

    func testMinorChangeInTheMonthlyWindow() {
        let verdict = evaluate(ManualClock("2026-12-06T05:00:00Z"), minor)
        XCTAssertEqual(verdict.decision, .admittedInWindow)
        XCTAssertEqual(verdict.openWindow?.window.name, "monthly")
    }

    func testEmergencyOutsideTheWindowWithApproval() throws {
        let verdict = evaluate(ManualClock("2026-12-02T14:00:00Z"), major, emergency: approval)
        XCTAssertEqual(verdict.decision, .admittedAsEmergency)
        XCTAssertTrue(verdict.isAdmitted)
        XCTAssertTrue(verdict.usedEmergency)
        XCTAssertNoThrow(try verdict.requireAdmitted())
        XCTAssertEqual(verdict.lines, [
            "policy gate: admitted as an EMERGENCY: a major change outside its maintenance window",
            "  Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes",
            "  change request: not required for staging",
            "  emergency: approved by alice, reason: ingestion drops samples",
            "  next window that admits it: monthly, Sunday 2026-12-06 02:00–06:00 UTC (in 3d 12h)",
        ])
        XCTAssertEqual(verdict.json, [
            "decision": "emergency",
            "admitted": true,
            "evaluatedAt": "2026-12-02T14:00:00Z",
            "environment": "staging",
            "size": "major",
            "reasons": ["Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes"],
            "changeRequestRequired": false,
            "changeRequest": nil,
            "window": nil,
            "nextWindow": ["name": "monthly", "start": "2026-12-06T02:00:00Z", "end": "2026-12-06T06:00:00Z", "admits": "major"],
            "emergency": ["approvedBy": "alice", "reason": "ingestion drops samples", "used": true],
            "refusal": nil,
        ])
    }

    func testEmergencyInsideAnAdmittingWindowIsRecordedNotNeeded() {
        let verdict = evaluate(ManualClock("2026-12-05T03:00:00Z"), minor, emergency: approval)
        XCTAssertEqual(verdict.decision, .admittedInWindow)
        XCTAssertFalse(verdict.usedEmergency)
        XCTAssertEqual(verdict.emergency, approval)
        XCTAssertEqual(verdict.lines.last, "  emergency: approved by alice, reason: ingestion drops samples (not needed: the window is open)")
        XCTAssertEqual(verdict.json["emergency"]?["used"], false)
    }

    func testEmergencyFlagsWithoutApprovalAreUsageErrors() throws {
        let path = ["deploy"]
        func usage(_ emergency: Bool, _ approvedBy: String?, _ reason: String?) -> UsageError? {
            do {
                _ = try EmergencyApproval.from(emergency: emergency, approvedBy: approvedBy, reason: reason, commandPath: path)
                return nil
            } catch {
                return error as? UsageError
            }
        }
        XCTAssertEqual(usage(true, nil, "ingestion drops samples"),
                       UsageError("--emergency needs --approved-by NAME: an emergency change is escalated for approval", commandPath: path))
        XCTAssertEqual(usage(true, "alice", nil),
                       UsageError("--emergency needs --reason TEXT: the journal records why the change could not wait for its window", commandPath: path))
        XCTAssertEqual(usage(true, nil, nil)?.message,
                       "--emergency needs --approved-by NAME and --reason TEXT: an emergency change is escalated for approval and journaled")
        XCTAssertEqual(usage(true, "  ", "why")?.message, "--emergency needs --approved-by NAME: an emergency change is escalated for approval",
                       "a blank approver is no approver")
        XCTAssertEqual(usage(false, "alice", nil)?.message, "--approved-by only goes with --emergency")
        XCTAssertEqual(usage(false, "alice", "why")?.message, "--approved-by and --reason only go with --emergency")
        XCTAssertEqual(usage(true, nil, nil)?.exitCode, .usage)

        XCTAssertNil(try EmergencyApproval.from(emergency: false, approvedBy: nil, reason: nil, commandPath: path))
        XCTAssertEqual(try EmergencyApproval.from(emergency: true, approvedBy: " alice ", reason: "why", commandPath: path),
                       EmergencyApproval(approvedBy: "alice", reason: "why"))
    }

    func testProductionWithoutAChangeRequestIsRefused() {
        let inWindow = ManualClock("2026-12-05T03:00:00Z")
        let verdict = evaluate(inWindow, minor, environment: "production", changeRequestRequired: true)
        XCTAssertEqual(verdict.refusal, .changeRequestMissing(environment: "production"))
        XCTAssertEqual(verdict.refusal?.description, "a deploy to production needs a change request: give --change-request ID")
        XCTAssertEqual(verdict.refusal?.hint, "the change request is the change-management record; an --emergency deploy needs one too")
        XCTAssertEqual(verdict.refusal?.exitCode, .failure)
        XCTAssertEqual(verdict.lines, [
            "policy gate: refused: a deploy to production needs a change request: give --change-request ID",
            "  Deployment/luminate container luminate: 2.4.1 → 2.5.0, same major version 2",
            "  change request: missing, production requires one",
            "  the weekly window admits it now: Saturday 2026-12-05 02:00–04:00 UTC (closes in 1h)",
        ])
        XCTAssertEqual(evaluate(inWindow, minor, environment: "production", changeRequestRequired: true, changeRequest: "  ").refusal,
                       .changeRequestMissing(environment: "production"), "a blank change request is none")

        let admitted = evaluate(inWindow, minor, environment: "production", changeRequestRequired: true, changeRequest: "CHG-1234")
        XCTAssertEqual(admitted.decision, .admittedInWindow)
        XCTAssertEqual(admitted.lines.last, "  change request: CHG-1234")
        XCTAssertEqual(admitted.json["changeRequest"], "CHG-1234")
    }

    func testAnEmergencyStillNeedsAChangeRequestInProduction() {
        let clock = ManualClock("2026-12-02T14:00:00Z")
        let verdict = evaluate(clock, major, environment: "production", changeRequestRequired: true, emergency: approval)
        XCTAssertEqual(verdict.refusal, .changeRequestMissing(environment: "production"))
        XCTAssertEqual(verdict.lines, [
            "policy gate: refused: a deploy to production needs a change request: give --change-request ID",
            "  Deployment/luminate container luminate: 2.4.1 → 3.0.0, major version changes",
            "  change request: missing, production requires one",
            "  emergency: approved by alice, reason: ingestion drops samples",
            "  next window that admits it: monthly, Sunday 2026-12-06 02:00–06:00 UTC (in 3d 12h)",
        ])
        XCTAssertEqual(verdict.json["emergency"]?["used"], false)
        let withRequest = evaluate(clock, major, environment: "production", changeRequestRequired: true, changeRequest: "CHG-77", emergency: approval)
        XCTAssertEqual(withRequest.decision, .admittedAsEmergency)
    }

    func testNoWindowAdmitsAMajorChange() {
        let weeklyOnly = DeployGate(windows: [MaintenanceWindow.guideDefaults[0]])
        let clock = ManualClock("2026-12-05T03:00:00Z")
        let verdict = evaluate(clock, major, gate: weeklyOnly)
        XCTAssertNil(verdict.nextWindow)
        XCTAssertEqual(verdict.refusal, .noWindowAdmits(size: .major, windows: [MaintenanceWindow.guideDefaults[0]]))
        XCTAssertEqual(verdict.refusal?.description,
                       "a major change and no maintenance window admits one: policy.maintenanceWindows has weekly (minor)")
        XCTAssertEqual(verdict.refusal?.hint,
                       "add a window with admits: major to policy.maintenanceWindows, or, if it cannot wait, deploy with --emergency --approved-by NAME --reason TEXT (journaled)")

        let emergency = evaluate(clock, major, emergency: approval, gate: weeklyOnly)
        XCTAssertEqual(emergency.decision, .admittedAsEmergency)
        XCTAssertEqual(emergency.lines.last, "  no configured maintenance window admits a major change")
    }

    func testNoWindowsConfigured() {
        let verdict = evaluate(ManualClock("2026-12-05T03:00:00Z"), minor, gate: DeployGate(windows: []))
        XCTAssertEqual(verdict.refusal?.description,
                       "a minor change and no maintenance window is configured (policy.maintenanceWindows is empty)")
    }

    func testRefusalJSONForTheJournal() {
        let verdict = evaluate(ManualClock("2026-12-02T14:00:00Z"), minor)
        XCTAssertEqual(verdict.json["decision"], "refused")
        XCTAssertEqual(verdict.json["admitted"], false)
        XCTAssertEqual(verdict.json["refusal"]?["message"]?.string, verdict.refusal?.description)
        XCTAssertEqual(verdict.json["refusal"]?["hint"]?.string, verdict.refusal?.hint)
        XCTAssertEqual(verdict.json["nextWindow"]?["start"], "2026-12-05T02:00:00Z")
    }

    func testClassifierAndGateTogether() throws {
        let change = ChangeClassifier().classify([
            ImageChange(workload: "Deployment/luminate", container: "luminate",
                        from: try ImageReference("registry.example:5000/luminate:2.4.1"), to: try ImageReference("registry.example:5000/luminate:latest")),
        ])
        let verdict = evaluate(ManualClock("2026-12-05T03:00:00Z"), change)
        XCTAssertEqual(verdict.refusal?.description,
                       "a major change during the weekly window, which admits only minor changes: the next window that admits it is monthly, Sunday 2026-12-06 02:00–06:00 UTC (in 23h)")
        XCTAssertEqual(verdict.lines[1],
                       "  Deployment/luminate container luminate: 2.4.1 → latest, 'latest' is not a semantic version: counted as major (policy.deploy.nonSemverTags: major)")
    }
}
