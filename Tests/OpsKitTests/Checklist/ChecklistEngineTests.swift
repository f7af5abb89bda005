import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// How modes combine, how waivers and attestations change verdicts, and how live checks run:
/// concurrently, each under its timeout.
final class ChecklistEngineTests: XCTestCase {
    func check(
        _ id: String, combination: Combination = .all, staticOutcome: CheckOutcome? = nil,
        live: (@Sendable (LiveScope) throws -> Finding)? = nil, attest: Bool = false
    ) -> ChecklistCheck {
        var rule: (@Sendable (StaticScope) throws -> Finding)?
        if let outcome = staticOutcome {
            rule = { @Sendable _ in Finding(.static, outcome, "static said \(outcome.rawValue)", evidence: ["s-evidence"]) }
        }
        return ChecklistCheck(
            id, "title of \(id)", section: .infrastructure,
            explanation: CheckExplanation(what: "w", why: "y", how: "h", fix: "the general fix"),
            combination: combination, staticRule: rule, liveProbe: live,
            attestation: attest ? AttestationRule("it was done") : nil)
    }

    func engine(_ checks: [ChecklistCheck], live: Bool = true, timeout: Double = 5, waivers: WaiverFile? = nil,
                attestations: AttestationFile? = nil, strict: Bool = false, clock: any TimeSource = ManualClock(ChecklistFixtures.now)) throws -> ChecklistEngine {
        let scope = try ChecklistFixtures.scope(settings: ChecklistFixtures.settings(strict: strict))
        let base = liveScope()
        var liveScope: (@Sendable (Interrupt) -> LiveScope)?
        if live {
            liveScope = { @Sendable stop in
                var context = base.connections.context
                context.interrupt = stop
                var scope = base
                scope.connections = Connections(configuration: base.connections.configuration, context: context)
                return scope
            }
        }
        return ChecklistEngine(checks: checks, scope: scope, liveScope: liveScope, timeout: timeout, attestations: attestations,
                               waivers: waivers, clock: clock, interrupt: Interrupt())
    }

    func testStaticPassAndLiveFailIsAFailWithTheEvidenceOfBoth() throws {
        let c = check("T-1", staticOutcome: .pass, live: { _ in Finding(.live, .fail, "live said fail", evidence: ["l-evidence"], fix: "the live fix") })
        let result = try engine([c]).run()[0]
        XCTAssertEqual(result.outcome, .fail)
        XCTAssertEqual(result.message, "live said fail")
        XCTAssertEqual(result.evidence, ["static pass: static said pass", "static: s-evidence", "live: l-evidence"])
        XCTAssertEqual(result.fix, "the live fix")
        XCTAssertEqual(result.modesRun, [.static, .live])
    }

    func testWithoutLiveAccessTheLivePartSkipsAndTheStaticPartDecides() throws {
        let c = check("T-1", staticOutcome: .pass, live: { _ in XCTFail("must not run"); return Finding(.live, .pass, "") })
        let result = try engine([c], live: false).run()[0]
        XCTAssertEqual(result.outcome, .pass)
        XCTAssertEqual(result.parts.map(\.outcome), [.pass, .skip])
        XCTAssertEqual(result.parts[1].message, "no live access (run with --live)")
        let liveOnly = check("T-2", live: { _ in Finding(.live, .pass, "") })
        let skipped = try engine([liveOnly], live: false).run()[0]
        XCTAssertEqual(skipped.outcome, .skip)
        XCTAssertEqual(skipped.message, "no live access (run with --live)")
    }

    func testThrownErrorsBecomeErrorsAndSkipsBecomeSkips() throws {
        let failing = check("T-1", live: { _ in throw ClickHouseError.unreachable(host: "ch:8123", underlying: "connection refused", hint: "is it up?") })
        let result = try engine([failing]).run()[0]
        XCTAssertEqual(result.outcome, .error)
        XCTAssertEqual(result.message, "cannot reach clickhouse at ch:8123: connection refused")
        XCTAssertEqual(result.fix, "is it up?")
        let unconfigured = check("T-2", live: { _ in throw CheckSkipped("Prometheus is not configured") })
        XCTAssertEqual(try engine([unconfigured]).run()[0].message, "Prometheus is not configured")
    }

    func testAnyCombinationPassesOnOneModeAndAttestationsCount() throws {
        let c = check("OPS-2", combination: .any, staticOutcome: .warn, attest: true)
        let none = try engine([c]).run()[0]
        XCTAssertEqual(none.outcome, .warn)
        let file = try AttestationFile.parse(Data("attestations:\n  - {id: OPS-2, who: a, when: 2026-10-01, evidence: e, expires: 2027-01-01}\n".utf8),
                                             path: "a.yaml", attestable: ["OPS-2"], allIDs: ["OPS-2"])
        let attested = try engine([c], attestations: file).run()[0]
        XCTAssertEqual(attested.outcome, .pass)
        XCTAssertEqual(attested.attestation?.who, "a")
        XCTAssertEqual(try engine([c], strict: true).run()[0].outcome, .fail, "a missing attestation fails under --strict")
    }

    func testWaiversApplyExpireAndAreBoundedTo90Days() throws {
        let c = check("T-1", staticOutcome: .fail)
        func waivers(_ expires: String, granted: String? = nil) throws -> WaiverFile {
            let grantedText = granted.map { ", granted: \($0)" } ?? ""
            return try WaiverFile.parse(Data("waivers:\n  - {id: T-1, reason: known, owner: o@example.com, ticket: EX-9, expires: \(expires)\(grantedText)}\n".utf8),
                                        path: "w.yaml", allIDs: ["T-1"])
        }
        let waived = try engine([c], waivers: waivers("2026-12-31")).run()[0]
        XCTAssertEqual(waived.outcome, .waived)
        XCTAssertEqual(waived.message, "waived until 2026-12-31 by o@example.com (EX-9): known")
        XCTAssertEqual(waived.evidence.first, "waived fail: static said fail")
        XCTAssertEqual(waived.waiverStatus, "applied")

        let expired = try engine([c], waivers: waivers("2026-11-19")).run()[0]
        XCTAssertEqual(expired.outcome, .fail)
        XCTAssertEqual(expired.message, "waiver expired on 2026-11-19 (EX-9, o@example.com); renew it or remove it")

        let long = try engine([c], waivers: waivers("2027-06-30", granted: "2026-11-01")).run()[0]
        XCTAssertEqual(long.outcome, .fail)
        XCTAssertEqual(long.message, "waiver runs 241 days, longer than the 90 days allowed (EX-9)")

        let passing = check("T-1", staticOutcome: .pass)
        let unneeded = try engine([passing], waivers: waivers("2026-12-31")).run()[0]
        XCTAssertEqual(unneeded.outcome, .pass)
        XCTAssertEqual(unneeded.waiverStatus, "not-needed")
    }

    func testLiveChecksRunConcurrentlyWithinOneAndAHalfTimesTheSlowest() throws {
        let delays = [0.30, 0.10, 0.25, 0.20, 0.30, 0.15, 0.05, 0.30]
        let checks = delays.enumerated().map { n, delay in
            check("T-\(n)", live: { _ in Thread.sleep(forTimeInterval: delay); return Finding(.live, .pass, "slept \(delay)") })
        }
        let started = Date()
        let results = try engine(checks, clock: SystemClock()).run()
        let wall = Date().timeIntervalSince(started)
        XCTAssertEqual(results.map(\.outcome), Array(repeating: .pass, count: delays.count))
        XCTAssertLessThanOrEqual(wall, 1.5 * 0.30, "the run took \(wall) s; the slowest check 0.3 s")
        XCTAssertEqual(results.max { $0.seconds < $1.seconds }.map { $0.seconds >= 0.29 }, true)
    }

    func testATimedOutCheckIsStoppedAndReportedAsAnError() throws {
        let stuck = check("T-1", live: { scope in
            // Like a subprocess that honours the interrupt: it stops when told to.
            while !scope.connections.context.interrupt.isSet { Thread.sleep(forTimeInterval: 0.01) }
            return Finding(.live, .pass, "should not count")
        })
        let quick = check("T-2", live: { _ in Finding(.live, .pass, "quick") })
        let started = Date()
        let results = try engine([stuck, quick], timeout: 0.3, clock: SystemClock()).run()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.0)
        XCTAssertEqual(results[0].outcome, .error)
        XCTAssertEqual(results[0].message, "no answer within 300 ms; the check was stopped")
        XCTAssertEqual(results[1].outcome, .pass)
    }
}
