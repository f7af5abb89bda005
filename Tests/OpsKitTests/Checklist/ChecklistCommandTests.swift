import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `luminatectl checklist list | explain | run` through the command table, with fakes: output,
/// exit codes, and usage errors naming the flag.
final class ChecklistCommandTests: XCTestCase {
    let fixtures = ChecklistFixtures.root

    func run(_ argv: [String], clock: ManualClock = ManualClock("2026-11-20T00:15:00Z")) -> (ExitCode, CapturedOutput) {
        let output = CapturedOutput()
        let code = Luminatectl.run(argv, context: .fake(clock: clock, output: output, workingDirectory: fixtures))
        return (code, output)
    }

    var staticRun: [String] {
        ["checklist", "run", "--env", "production", "--manifests", "good",
         "--attestations", "attestations.example.yaml", "--waivers", "waivers.example.yaml"]
    }

    func testListTheCatalogueInTheGuidesOrder() throws {
        let (code, output) = run(["checklist", "list", "-o", "json"])
        XCTAssertEqual(code, .success)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json["checks"]?.array?.compactMap { $0["id"]?.string }, [
            "INF-1", "INF-2", "INF-3", "INF-4", "INF-5", "SEC-1", "SEC-2", "SEC-3", "SEC-4", "SEC-5",
            "MON-1", "MON-2", "MON-3", "MON-4", "MON-5", "DP-1", "DP-2", "DP-3", "DP-4",
            "PERF-1", "PERF-2", "PERF-3", "PERF-4", "OPS-1", "OPS-2", "OPS-3", "OPS-4",
        ])
        XCTAssertEqual(json["checks"]?[0], ["id": "INF-1", "title": "ClickHouse cluster deployed (minimum 4 nodes)", "section": "Infrastructure", "modes": ["static", "live"]])
        let (_, text) = run(["checklist", "list"])
        XCTAssertTrue(text.stdout.contains("PERF-1  Performance      attest                       Load testing completed in staging\n"), text.stdout)
    }

    func testExplainAndUnknownIDs() throws {
        let (code, output) = run(["checklist", "explain", "dp-1"])
        XCTAssertEqual(code, .success)
        XCTAssertTrue(output.stdout.hasPrefix("DP-1  Automated backups configured\nSection: Data protection    Modes: static, live\n\nWHAT\n"), output.stdout)
        XCTAssertTrue(output.stdout.contains("\nHOW TO FIX\n"))
        let (bad, error) = run(["checklist", "explain", "DP-9"])
        XCTAssertEqual(bad, .usage)
        XCTAssertEqual(error.stderr, """
            Error: Unknown check 'DP-9' (did you mean DP-1?)
            Usage: luminatectl checklist explain [<options>] <id>
              See 'luminatectl checklist explain --help' for more information.

            """)
    }

    func testStaticRunOverTheGoodFixturePasses() throws {
        let (code, output) = run(staticRun)
        XCTAssertEqual(code, .success, output.stdout + output.stderr)
        XCTAssertTrue(output.stdout.hasSuffix("27 checks: 23 pass, 0 fail, 1 warn, 3 skip, 0 waived, 0 error\n"), output.stdout)
        XCTAssertTrue(output.stdout.contains("  WARN    DP-2   Backup retention policy set\n"), output.stdout)
        XCTAssertTrue(output.stdout.contains("  SKIP    INF-3  Kubernetes cluster meets requirements\n          no live access (run with --live)\n"))
        // Warnings fail the run under --strict.
        let (strict, _) = run(staticRun + ["--strict"])
        XCTAssertEqual(strict, .failure)
    }

    func testOneBrokenElementFailsTheRunAndNamesIt() throws {
        let directory = NSTemporaryDirectory() + "luminatectl-cl-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: ChecklistFixtures.good, toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let zookeeper = directory + "/zookeeper.yaml"
        try String(contentsOfFile: zookeeper, encoding: .utf8).replacingOccurrences(of: "replicas: 3", with: "replicas: 2")
            .write(toFile: zookeeper, atomically: true, encoding: .utf8)
        let (code, output) = run(["checklist", "run", "--manifests", directory, "--runbooks", "runbooks", "--only", "INF-2,INF-1", "-o", "json"])
        XCTAssertEqual(code, .failure)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json["checks"]?.array?.compactMap { $0["id"]?.string }, ["INF-1", "INF-2"])
        XCTAssertEqual(json["checks"]?[1]?["outcome"], "fail")
        XCTAssertEqual(json["checks"]?[1]?["evidence"]?[0]?.string?.hasPrefix("StatefulSet/luminate/zookeeper (\(directory)/zookeeper.yaml:1): 2 replica(s)"), true)
        XCTAssertEqual(json["summary"], ["pass": 1, "fail": 1, "warn": 0, "skip": 0, "waived": 0, "error": 0])
    }

    func testMalformedManifestsAreErrorsWithFileLineColumn() throws {
        let directory = NSTemporaryDirectory() + "luminatectl-cl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x}\n".write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let (code, output) = run(["checklist", "run", "--manifests", directory, "--section", "INF", "-o", "json"])
        XCTAssertEqual(code, .failure)
        let json = try JSONValue.parse(Data(output.stdout.utf8))
        XCTAssertEqual(json["mode"]?["static"], false)
        let first = try XCTUnwrap(json["checks"]?[0])
        XCTAssertEqual(first["outcome"], "error")
        XCTAssertEqual(first["message"]?.string?.hasPrefix("\(directory)/bad.yaml:3:"), true, first["message"]?.string ?? "")
    }

    func testWaiversApplyUnlessNoWaivers() throws {
        let directory = NSTemporaryDirectory() + "luminatectl-cl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "waivers:\n  - {id: OPS-4, reason: change process being agreed, owner: o@example.com, ticket: EX-7, expires: 2026-12-15}\n"
            .write(toFile: directory + "/w.yaml", atomically: true, encoding: .utf8)
        // A production environment that does not yet require change requests: OPS-4 fails.
        try "environments:\n  production:\n    policy: {changeRequestRequired: false}\n"
            .write(toFile: directory + "/c.yaml", atomically: true, encoding: .utf8)
        let argv = ["--config", directory + "/c.yaml", "checklist", "run", "--only", "OPS-4", "--attestations", "attestations.example.yaml"]
        let (waived, output) = run(argv + ["--waivers", directory + "/w.yaml"])
        XCTAssertEqual(waived, .success, output.stdout)
        XCTAssertTrue(output.stdout.contains("WAIVED  OPS-4"), output.stdout)
        let (gate, gated) = run(argv + ["--no-waivers"])
        XCTAssertEqual(gate, .failure)
        XCTAssertTrue(gated.stdout.contains("FAIL    OPS-4"), gated.stdout)
        XCTAssertTrue(gated.stdout.contains("waivers ignored"), gated.stdout)
        // The same waiver, checked three weeks later, has expired and fails the check.
        let (later, expired) = run(argv + ["--waivers", directory + "/w.yaml"], clock: ManualClock("2026-12-20T00:00:00Z"))
        XCTAssertEqual(later, .failure)
        XCTAssertTrue(expired.stdout.contains("waiver expired on 2026-12-15 (EX-7, o@example.com); renew it or remove it"), expired.stdout)
    }

    func testTheConfigurationNamesTheInputsRelativeToItself() throws {
        let directory = NSTemporaryDirectory() + "luminatectl-cl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let relative = "../" + String(repeating: "../", count: directory.split(separator: "/").count - 1) + String(fixtures.dropFirst())
        try """
            environments:
              production:
                checklist:
                  manifests: \(relative)/good
                  runbooks: \(relative)/runbooks
                  attestations: \(relative)/attestations.example.yaml
                  minKubernetesVersion: "1.30"
                  secretKinds: [SealedSecret, ExternalSecret, Certificate]
            """.write(toFile: directory + "/luminatectl.yaml", atomically: true, encoding: .utf8)
        let (code, output) = run(["checklist", "run", "--config", directory + "/luminatectl.yaml", "--only", "OPS-2,SEC-2,OPS-1"])
        XCTAssertEqual(code, .success, output.stdout + output.stderr)
        XCTAssertTrue(output.stdout.hasSuffix("3 checks: 3 pass, 0 fail, 0 warn, 0 skip, 0 waived, 0 error\n"), output.stdout)

        try "environments:\n  production:\n    checklist:\n      minKubernetesVersion: latest\n".write(toFile: directory + "/luminatectl.yaml", atomically: true, encoding: .utf8)
        let (bad, error) = run(["checklist", "run", "--config", directory + "/luminatectl.yaml"])
        XCTAssertEqual(bad, .usage)
        XCTAssertEqual(error.stderr, "Error: \(directory)/luminatectl.yaml:4:29: environments.production.checklist.minKubernetesVersion: expected a version like \"1.28\", found 'latest'\n")
    }

    func testUsageErrorsExit64AndNameTheFlag() {
        let cases: [([String], String)] = [
            (["checklist", "run", "--only", "SEC-9"], "Error: --only names unknown check 'SEC-9' (did you mean SEC-1?)"),
            (["checklist", "run", "--section", "networking"], "Error: --section must be one of INF, SEC, MON, DP, PERF, OPS (or its name), not 'networking'"),
            (["checklist", "run", "-o", "yaml"], "Error: --output must be one of text, json, junit, not 'yaml'"),
            (["checklist", "run", "--timeout", "soon"], "Error: --timeout must be a duration like 90s, 5m, 1h30m or 7d, not 'soon'"),
            (["checklist", "run", "--waivers", "w.yaml", "--no-waivers"], "Error: --waivers and --no-waivers contradict each other"),
            (["checklist", "run", "--attestations", "missing.yaml"], "Error: --attestations names \(ChecklistFixtures.root)/missing.yaml, which does not exist"),
            (["checklist", "run", "--attestations", "waivers.example.yaml"], "Error: waivers.example.yaml:3:1: waivers: unknown key 'waivers'; known keys: attestations"),
        ]
        for (argv, expected) in cases {
            let (code, output) = run(argv)
            XCTAssertEqual(code, .usage, argv.joined(separator: " "))
            XCTAssertTrue(output.stderr.hasPrefix(expected), "\(argv): \(output.stderr)")
            XCTAssertEqual(output.stdout, "")
        }
    }

    #if canImport(FoundationXML)
    func testJUnitOutput() throws {
        let (code, output) = run(staticRun + ["-o", "junit"])
        XCTAssertEqual(code, .success)
        let document = try XMLDocument(xmlString: output.stdout, options: [])
        XCTAssertEqual(document.rootElement()?.attribute(forName: "tests")?.stringValue, "27")
        XCTAssertEqual(document.rootElement()?.elements(forName: "testsuite").count, 6)
    }
    #endif
}

/// OPS-4 judges the production environment's change policy, whichever environment a run is for.
final class ChangeManagementCheckTests: XCTestCase {
    func ops4(_ config: String?, env: String? = nil) throws -> (outcome: String?, evidence: [String]) {
        let directory = NSTemporaryDirectory() + "luminatectl-ops4-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var argv = ["checklist", "run", "--only", "OPS-4", "-o", "json"]
        if let config {
            try config.write(toFile: directory + "/c.yaml", atomically: true, encoding: .utf8)
            argv = ["--config", directory + "/c.yaml"] + argv
        }
        if let env { argv = ["--env", env] + argv }
        let output = CapturedOutput()
        _ = Luminatectl.run(argv, context: .fake(output: output, workingDirectory: directory))
        let check = try JSONValue.parse(Data(output.stdout.utf8))["checks"]?[0]
        let evidence = (check?["parts"]?.array ?? []).flatMap { $0["evidence"]?.array ?? [] }.compactMap(\.string)
        return (check?["parts"]?.array?.first { $0["mode"] == "config" }?["outcome"]?.string, evidence)
    }

    func testWithoutConfigurationTheBuiltInProductionDefaultHolds() throws {
        let (outcome, evidence) = try ops4(nil)
        XCTAssertEqual(outcome, "pass")
        XCTAssertTrue(evidence.contains { $0.contains("built-in default for an environment named production") }, "\(evidence)")
    }

    func testAnotherEnvironmentsRunReadsTheConfiguredProductionEnvironment() throws {
        let config = "environments:\n  staging: {}\n  production:\n    policy: {changeRequestRequired: false}\n"
        let (outcome, evidence) = try ops4(config, env: "staging")
        XCTAssertEqual(outcome, "fail")
        XCTAssertTrue(evidence.contains { $0.contains("this run is for environment staging") }, "\(evidence)")
        XCTAssertEqual(try ops4(config.replacingOccurrences(of: "false", with: "true"), env: "staging").outcome, "pass")
    }
}
