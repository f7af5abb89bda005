import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The three renderings of a report: text by section with a summary line, the JSON schema of
/// docs/checklist.md, and JUnit XML as CI tools read it.
final class ReportTests: XCTestCase {
    /// One result of each outcome, spread over sections, with text that needs escaping.
    static func report(strict: Bool = false) -> ChecklistReport {
        let catalogue = ChecklistCatalogue.all
        func result(_ id: String, _ outcome: CheckOutcome, _ message: String, evidence: [String] = [], fix: String? = nil, seconds: Double = 0.01) -> CheckResult {
            let check = catalogue.first { $0.id == id }!
            return CheckResult(check: check, outcome: outcome, message: message, evidence: evidence, fix: fix,
                               parts: [Finding(.static, outcome, message, evidence: evidence, seconds: seconds)], seconds: seconds)
        }
        var waived = result("SEC-3", .waived, "waived until 2026-12-31 by sre@example.com (EX-1): CNI migration", evidence: ["waived fail: no default deny"], fix: "add a default-deny policy")
        waived.waiver = Waiver(id: "SEC-3", reason: "CNI migration", owner: "sre@example.com", ticket: "EX-1", expires: Date(timeIntervalSince1970: 1798761600),
                               expiresText: "2026-12-31", granted: nil, mark: SourceMark(file: "w.yaml", line: 2, column: 5))
        waived.waiverStatus = "applied"
        return ChecklistReport(
            environment: "production", generatedAt: ChecklistFixtures.now, staticMode: true, liveMode: true, strict: strict, waiversUsed: true,
            manifestSources: ["kustomize:manifests/overlays/production"],
            results: [
                result("INF-1", .pass, "4 ClickHouse nodes (at least 4)", seconds: 0.2),
                result("INF-2", .fail, "a ZooKeeper ensemble of 2 node(s); it needs at least 3 <to survive> a failure & more",
                       evidence: ["StatefulSet/luminate/zookeeper (z.yaml:1): 2 replica(s) \"quoted\" \u{1}bell"], fix: "set replicas: 3"),
                result("SEC-1", .error, "kubectl get secret: no answer within 20 s", fix: "check the cluster"),
                waived,
                result("MON-5", .warn, "no log shipper in the manifests", fix: "deploy one"),
                result("DP-3", .skip, "no restore drills recorded yet: arrives with luminatectl restore drill"),
            ],
            wallSeconds: 0.25)
    }

    func testTextGroupsBySectionAndCountsEveryOutcome() {
        let text = ReportText.render(Self.report(), console: CapturedOutput().console())
        XCTAssertEqual(text, """
            Production readiness checklist: environment production
            (manifests kustomize:manifests/overlays/production, live)

            Infrastructure
              PASS    INF-1  ClickHouse cluster deployed (minimum 4 nodes)
                      4 ClickHouse nodes (at least 4)
              FAIL    INF-2  ZooKeeper ensemble running (3 nodes)
                      a ZooKeeper ensemble of 2 node(s); it needs at least 3 <to survive> a failure & more
                      - StatefulSet/luminate/zookeeper (z.yaml:1): 2 replica(s) "quoted" \u{1}bell
                      fix: set replicas: 3

            Security
              ERROR   SEC-1  JWT secret configured
                      kubectl get secret: no answer within 20 s
                      fix: check the cluster
              WAIVED  SEC-3  Network policies applied
                      waived until 2026-12-31 by sre@example.com (EX-1): CNI migration
                      - waived fail: no default deny
                      fix: add a default-deny policy

            Monitoring
              WARN    MON-5  Log aggregation configured
                      no log shipper in the manifests
                      fix: deploy one

            Data protection
              SKIP    DP-3   Restore procedure tested
                      no restore drills recorded yet: arrives with luminatectl restore drill

            Slowest check: INF-1 (200 ms); the run took 250 ms
            6 checks: 1 pass, 1 fail, 1 warn, 1 skip, 1 waived, 1 error

            """)
        XCTAssertEqual(Self.report().exitCode, .failure)
    }

    func testJSONFollowsTheDocumentedSchema() throws {
        let json = try JSONValue.parse(Data(ReportJSON.render(Self.report()).rendered(pretty: true).utf8))
        XCTAssertEqual(json["schemaVersion"], 1)
        XCTAssertEqual(json["environment"], "production")
        XCTAssertEqual(json["generatedAt"], "2026-11-20T00:15:00Z")
        XCTAssertEqual(json["mode"], ["live": true, "static": true, "strict": false, "waivers": true])
        XCTAssertEqual(json["summary"], ["pass": 1, "fail": 1, "warn": 1, "skip": 1, "waived": 1, "error": 1])
        XCTAssertEqual(json["passed"], false)
        XCTAssertEqual(json["slowest"], ["id": "INF-1", "durationSeconds": 0.2])
        let checks = try XCTUnwrap(json["checks"]?.array)
        XCTAssertEqual(checks.count, 6)
        for check in checks {
            for key in ["id", "title", "section", "outcome", "modes", "message", "evidence", "fix", "parts", "durationSeconds"] {
                XCTAssertNotNil(check[key], "\(check["id"]?.string ?? "?") lacks \(key)")
            }
        }
        let waived = checks[3]
        XCTAssertEqual(waived["outcome"], "waived")
        XCTAssertEqual(waived["waiver"], ["status": "applied", "reason": "CNI migration", "owner": "sre@example.com", "ticket": "EX-1", "expires": "2026-12-31", "source": "w.yaml:2:5"])
        XCTAssertEqual(checks[0]["fix"], .null)
        XCTAssertEqual(checks[0]["modes"], ["static"])
        XCTAssertEqual(checks[5]["modes"], [])
    }

    #if canImport(FoundationXML)
    func testJUnitIsWellFormedWithTheAttributesCIToolsRead() throws {
        let xml = ReportJUnit.render(Self.report())
        let document = try XMLDocument(xmlString: xml, options: [])
        let root = try XCTUnwrap(document.rootElement())
        XCTAssertEqual(root.name, "testsuites")
        XCTAssertEqual(root.attribute(forName: "name")?.stringValue, "luminatectl checklist")
        XCTAssertEqual(root.attribute(forName: "tests")?.stringValue, "6")
        XCTAssertEqual(root.attribute(forName: "failures")?.stringValue, "1")
        XCTAssertEqual(root.attribute(forName: "errors")?.stringValue, "1")
        XCTAssertEqual(root.attribute(forName: "skipped")?.stringValue, "1")
        let suites = root.elements(forName: "testsuite")
        XCTAssertEqual(suites.compactMap { $0.attribute(forName: "name")?.stringValue }, ["Infrastructure", "Security", "Monitoring", "Data protection"])
        var cases = 0
        for suite in suites {
            // The Jenkins/Ant JUnit schema requires name and tests; counts must add up.
            for attribute in ["name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname", "id", "package"] {
                XCTAssertNotNil(suite.attribute(forName: attribute), "testsuite lacks \(attribute)")
            }
            let testcases = suite.elements(forName: "testcase")
            XCTAssertEqual(suite.attribute(forName: "tests")?.stringValue, "\(testcases.count)")
            XCTAssertEqual(suite.attribute(forName: "failures")?.stringValue, "\(testcases.filter { !$0.elements(forName: "failure").isEmpty }.count)")
            XCTAssertEqual(suite.attribute(forName: "errors")?.stringValue, "\(testcases.filter { !$0.elements(forName: "error").isEmpty }.count)")
            XCTAssertEqual(suite.attribute(forName: "skipped")?.stringValue, "\(testcases.filter { !$0.elements(forName: "skipped").isEmpty }.count)")
            XCTAssertNotNil(Double(suite.attribute(forName: "time")?.stringValue ?? ""))
            for testcase in testcases {
                cases += 1
                XCTAssertTrue(testcase.attribute(forName: "classname")?.stringValue?.hasPrefix("checklist.") == true)
                XCTAssertNotNil(Double(testcase.attribute(forName: "time")?.stringValue ?? ""))
            }
        }
        XCTAssertEqual(cases, 6)
        let failure = try XCTUnwrap(suites[0].elements(forName: "testcase")[1].elements(forName: "failure").first)
        XCTAssertEqual(suites[0].elements(forName: "testcase")[1].attribute(forName: "name")?.stringValue, "INF-2 ZooKeeper ensemble running (3 nodes)")
        XCTAssertEqual(failure.attribute(forName: "message")?.stringValue, "a ZooKeeper ensemble of 2 node(s); it needs at least 3 <to survive> a failure & more")
        XCTAssertEqual(failure.attribute(forName: "type")?.stringValue, "fail")
        XCTAssertTrue(failure.stringValue?.contains("- StatefulSet/luminate/zookeeper (z.yaml:1): 2 replica(s) \"quoted\" \u{FFFD}bell") == true, failure.stringValue ?? "")
        XCTAssertEqual(suites[1].elements(forName: "testcase")[0].elements(forName: "error").first?.attribute(forName: "type")?.stringValue, "error")
        XCTAssertTrue(suites[1].elements(forName: "testcase")[1].elements(forName: "system-out").first?.stringValue?.hasPrefix("waived: ") == true)
        XCTAssertEqual(suites[3].elements(forName: "testcase")[0].elements(forName: "skipped").first?.attribute(forName: "message")?.stringValue,
                       "no restore drills recorded yet: arrives with luminatectl restore drill")
    }

    func testJUnitUnderStrictTurnsWarningsIntoFailures() throws {
        let document = try XMLDocument(xmlString: ReportJUnit.render(Self.report(strict: true)), options: [])
        XCTAssertEqual(document.rootElement()?.attribute(forName: "failures")?.stringValue, "2")
        let monitoring = document.rootElement()!.elements(forName: "testsuite")[2]
        XCTAssertEqual(monitoring.elements(forName: "testcase")[0].elements(forName: "failure").first?.attribute(forName: "type")?.stringValue, "warn")
    }
    #endif
}
