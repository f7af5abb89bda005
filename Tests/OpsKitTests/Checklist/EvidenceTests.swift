import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Attestations and waivers: parsing with file:line:column errors, and expiry judged against a
/// manual clock.
final class EvidenceTests: XCTestCase {
    let attestable = ChecklistCatalogue.all.filter { $0.attestation != nil }.map(\.id)

    func parseAttestations(_ text: String) throws -> AttestationFile {
        try AttestationFile.parse(Data(text.utf8), path: "attest.yaml", attestable: attestable, allIDs: ChecklistCatalogue.ids)
    }

    func parseWaivers(_ text: String) throws -> WaiverFile {
        try WaiverFile.parse(Data(text.utf8), path: "waivers.yaml", allIDs: ChecklistCatalogue.ids)
    }

    func testTheExampleFilesParseAndSayTheyAreExamples() throws {
        let attestations = try String(contentsOfFile: ChecklistFixtures.root + "/attestations.example.yaml", encoding: .utf8)
        XCTAssertTrue(attestations.hasPrefix("# EXAMPLE ATTESTATIONS"))
        let parsed = try parseAttestations(attestations)
        XCTAssertEqual(parsed.entries.map(\.id), ["MON-2", "MON-4", "PERF-1", "PERF-2", "OPS-2", "OPS-4"])
        XCTAssertTrue(parsed.entries.allSatisfy { $0.who.hasSuffix("@example.com") && $0.evidence.contains("example.") })
        XCTAssertEqual(parsed.attestation(for: "PERF-1")?.figures, ["writeP95": "85ms", "queryP95": "160ms", "metricsPerSecondPerPod": "120K"])
        let waivers = try String(contentsOfFile: ChecklistFixtures.root + "/waivers.example.yaml", encoding: .utf8)
        XCTAssertTrue(waivers.hasPrefix("# EXAMPLE WAIVERS"))
        XCTAssertEqual(try parseWaivers(waivers).entries.map(\.ticket), ["EXAMPLE-123"])
    }

    func testAttestationErrorsNameFileLineAndColumn() {
        let cases: [(String, String)] = [
            ("attestations:\n  - id: OPS-9\n    who: a\n    when: 2026-10-01\n    evidence: x\n    expires: 2027-01-01\n",
             "attest.yaml:2:9: attestations[0].id: unknown check ID 'OPS-9' (did you mean OPS-1?)"),
            ("attestations:\n  - id: INF-1\n    who: a\n    when: 2026-10-01\n    evidence: x\n    expires: 2027-01-01\n",
             "attest.yaml:2:9: attestations[0].id: INF-1 cannot take an attestation"),
            ("attestations:\n  - id: OPS-2\n    who: a\n    evidence: x\n    expires: 2027-01-01\n",
             "attest.yaml:2:5: attestations[0]: missing key 'when'"),
            ("attestations:\n  - id: OPS-2\n    who: a\n    when: yesterday\n    evidence: x\n    expires: 2027-01-01\n",
             "attest.yaml:4:11: attestations[0].when: expected a date like 2026-11-20 (or an RFC 3339 time), found 'yesterday'"),
            ("attestations:\n  - id: OPS-2\n    who: a\n    when: 2026-10-01\n    evidence: x\n    expires: 2026-09-01\n",
             "attest.yaml:6:14: attestations[0].expires: expires before it was attested (2026-10-01)"),
            ("attestations:\n  - id: OPS-2\n    whom: a\n", "attest.yaml:3:5: attestations[0].whom: unknown key 'whom' (did you mean 'who'?)"),
            ("attestations: [\n", "attest.yaml:2:1: malformed YAML"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parseAttestations(text), expected) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(error)\nexpected: \(expected)")
                XCTAssertEqual((error as? ConfigError)?.exitCode, .usage)
            }
        }
    }

    func testWaiverErrors() {
        XCTAssertThrowsError(try parseWaivers("waivers:\n  - id: SEC-3\n    reason: r\n    owner: o\n    expires: 2026-12-01\n")) {
            XCTAssertEqual("\($0)", "waivers.yaml:2:5: waivers[0]: missing key 'ticket'")
        }
        XCTAssertThrowsError(try parseWaivers("waivers:\n  - {id: SEC-3, reason: r, owner: o, ticket: T-1, expires: 2026-12-01}\n  - {id: sec-3, reason: r, owner: o, ticket: T-2, expires: 2026-12-01}\n")) {
            XCTAssertEqual("\($0)", "waivers.yaml:3:10: waivers[1].id: SEC-3 is waived twice (also at waivers.yaml:2:5)")
        }
        XCTAssertThrowsError(try parseWaivers("waivers:\n  - {id: SEC-3, reason: '  ', owner: o, ticket: T-1, expires: 2026-12-01}\n")) {
            XCTAssertEqual("\($0)", "waivers.yaml:2:25: waivers[0].reason: must not be empty")
        }
    }

    func testWaiverStandingAgainstAManualClock() throws {
        let file = try parseWaivers("waivers:\n  - {id: SEC-3, reason: r, owner: o, ticket: T-1, expires: 2026-12-01}\n  - {id: SEC-4, reason: r, owner: o, ticket: T-2, granted: 2026-11-01, expires: 2027-03-01}\n")
        let clock = ManualClock("2026-11-20T00:15:00Z")
        let sec3 = file.waiver(for: "SEC-3")!
        XCTAssertEqual(sec3.standing(at: clock.now()), .valid)
        clock.advance(by: 11 * 86400)   // 2026-12-01T00:15: the expiry day itself still holds
        XCTAssertEqual(sec3.standing(at: clock.now()), .valid)
        clock.advance(by: 86400)        // 2026-12-02
        XCTAssertEqual(sec3.standing(at: clock.now()), .expired)
        XCTAssertEqual(file.waiver(for: "SEC-4")!.standing(at: ChecklistFixtures.now), .tooLong(days: 120))
        // Without `granted`, the 90 days count from the run.
        let far = try parseWaivers("waivers:\n  - {id: SEC-5, reason: r, owner: o, ticket: T-3, expires: 2027-06-01}\n")
        XCTAssertEqual(far.waiver(for: "SEC-5")!.standing(at: ChecklistFixtures.now), .tooLong(days: 193))
    }

    func testAttestationExpiryMissingAndStrict() throws {
        let file = try parseAttestations("attestations:\n  - {id: OPS-2, who: a@example.com, when: 2026-10-01, evidence: https://x.example, expires: 2026-12-01}\n")
        let check = OperationsChecks.onCall
        let rule = check.attestation!
        let valid = ChecklistEngine.attest(check, rule, file.attestation(for: "OPS-2"), configured: true, settings: ChecklistFixtures.settings())
        XCTAssertEqual(valid.outcome, .pass)
        XCTAssertEqual(valid.message, "attested by a@example.com on 2026-10-01 (evidence: https://x.example; expires 2026-12-01)")
        let later = ChecklistFixtures.settings(now: ISO8601DateFormatter().date(from: "2026-12-02T00:00:01Z")!)
        let expired = ChecklistEngine.attest(check, rule, file.attestation(for: "OPS-2"), configured: true, settings: later)
        XCTAssertEqual(expired.outcome, .fail)
        XCTAssertEqual(expired.message, "the attestation by a@example.com expired on 2026-12-01")
        let missing = ChecklistEngine.attest(check, rule, nil, configured: true, settings: ChecklistFixtures.settings())
        XCTAssertEqual(missing.outcome, .warn)
        XCTAssertTrue(missing.message.hasPrefix("no attestation for OPS-2: nothing in the manifests or the cluster can prove"))
        let strict = ChecklistEngine.attest(check, rule, nil, configured: false, settings: ChecklistFixtures.settings(strict: true))
        XCTAssertEqual(strict.outcome, .fail)
        XCTAssertTrue(strict.message.hasSuffix("(required under --strict)"))
    }

    func testPERF1FiguresAgainstTheTargets() throws {
        func figures(_ text: String) throws -> Finding {
            let file = try parseAttestations("attestations:\n  - {id: PERF-1, who: a, when: 2026-10-01, evidence: e, expires: 2027-01-01, figures: \(text)}\n")
            let check = PerformanceChecks.loadTesting
            return ChecklistEngine.attest(check, check.attestation!, file.attestation(for: "PERF-1"), configured: true, settings: ChecklistFixtures.settings())
        }
        XCTAssertEqual(try figures("{writeP95: 85ms, queryP95: 0.16s, metricsPerSecondPerPod: 120000}").outcome, .pass)
        let slow = try figures("{writeP95: 120ms, queryP95: 160ms, metricsPerSecondPerPod: 1.2M}")
        XCTAssertEqual(slow.outcome, .fail)
        XCTAssertEqual(slow.message, "the load test attestation does not show the targets met: writeP95 120ms is not under 100ms")
        XCTAssertTrue(try figures("{writeP95: 85, queryP95: 160ms}").message.contains("writeP95 '85' is not a latency with a unit, like 85ms; no metricsPerSecondPerPod figure"))
    }

    func testRunbookFrontMatter() {
        let runbook = Runbook.parse("---\ntitle: Scaling\nreviewed-by: [a, b]\nreviewed-on: 2026-10-01\n---\n# Scaling\n", path: "runbooks/scaling.md")
        XCTAssertEqual(runbook.title, "Scaling")
        XCTAssertEqual(runbook.reviewedBy, ["a", "b"])
        XCTAssertEqual(runbook.reviewedOnText, "2026-10-01")
        XCTAssertEqual(runbook.body, "# Scaling\n")
        let bad = Runbook.parse("---\ntitle: x\nreviewed-on: soon\n---\n", path: "r.md")
        XCTAssertEqual(bad.malformed, "r.md:3:14: reviewed-on 'soon' is not a date like 2026-11-20")
    }
}
