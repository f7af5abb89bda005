import Foundation
import XCTest
@testable import OpsKit

/// `deploy` end to end in the sandbox, with short windows: a healthy deploy stays, an `errors`
/// image is rolled back on the error rate, a `slow` one only after the latency window, a stalled
/// rollout is rolled back, a failing kubectl is never a success, and a held lock exits 75.
final class DeployIntegrationTests: XCTestCase {
    private var harness: DeployHarness!

    override func setUpWithError() throws {
        harness = try DeployHarness()
        try harness.startHealthy()
    }

    override func tearDownWithError() throws {
        _ = try? harness?.emulator("DELETE", "rollout-behaviour")
        _ = try? harness?.emulator("DELETE", "fail")
        harness = nil
    }

    private func deploy(_ tag: String, _ extra: [String] = []) throws -> (result: ProcessResult, json: JSONValue) {
        let result = try harness.luminatectl(["deploy", "--overlay", "production", "--image", "luminate=ghcr.io/luminate/luminate:\(tag)"]
                                                + DeployHarness.emergency + extra + ["-o", "json"])
        let json = (try? DeployHarness.document(result)) ?? .null
        return (result, json)
    }

    func testAHealthyDeployCompletesAndStays() throws {
        let (result, json) = try deploy("2.4.2", ["--bake", "30s"])
        XCTAssertEqual(result.status, .exited(0), result.stderrText + result.stdoutText)
        XCTAssertEqual(json["result"]?.string, "healthy", result.stdoutText)
        XCTAssertEqual(try harness.deployedImage(), "ghcr.io/luminate/luminate:2.4.2")
        // One line per evaluation off a TTY, each with the current values against the thresholds.
        let evaluations = result.stderrText.split(separator: "\n").filter { $0.contains("baking") }
        XCTAssertGreaterThanOrEqual(evaluations.count, 15, "30 s every 2 s: \(result.stderrText)")
    }

    func testAnErrorsImageIsRolledBackOnTheErrorRate() throws {
        let (result, json) = try deploy("2.5.0-errors")
        XCTAssertEqual(result.status, .exited(1), result.stderrText + result.stdoutText)
        XCTAssertEqual(json["result"]?.string, "rolled-back", result.stdoutText)
        let decision = try XCTUnwrap(json["decision"])
        XCTAssertEqual(decision["criterion"]?.string, "error-rate", result.stdoutText)
        XCTAssertEqual(decision["window"]?.number, 20)
        let values = decision["values"]?.array ?? []
        XCTAssertGreaterThanOrEqual(values.count, 11, "every 2 s step of the 20 s window")
        XCTAssertTrue(values.allSatisfy { ($0[1]?.number ?? 0) > 0.05 }, "\(values)")
        XCTAssertEqual(decision["rolledBack"]?.bool, true)
        let detection = try XCTUnwrap(decision["detectionSeconds"]?.number)
        XCTAssertLessThanOrEqual(detection, 3, "from the deciding evaluation to the undo: one interval + 1 s at most")
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage, "the emulator shows the previous template restored")
        // And the traffic follows: the simulator serves the healthy image again.
        let deadline = Date().addingTimeInterval(90)
        var ratio = 1.0
        while Date() < deadline {
            ratio = try harness.prometheus(DeployHarness.errorRatio) ?? 1
            if ratio < 0.05 { break }
            Thread.sleep(forTimeInterval: 1)
        }
        XCTAssertLessThan(ratio, 0.05, "the error rate falls back after the rollback")
    }

    func testASlowImageTriggersOnlyAfterTheLatencyWindow() throws {
        let (result, json) = try deploy("2.5.0-slow")
        XCTAssertEqual(result.status, .exited(1), result.stderrText + result.stdoutText)
        let decision = try XCTUnwrap(json["decision"], result.stdoutText)
        XCTAssertEqual(decision["criterion"]?.string, "p95-latency", result.stdoutText)
        XCTAssertEqual(decision["window"]?.number, 30)
        let values = decision["values"]?.array ?? []
        XCTAssertGreaterThanOrEqual(values.count, 16, "every step of the 30 s window: \(values)")
        XCTAssertTrue(values.allSatisfy { ($0[1]?.number ?? 0) > 0.5 }, "\(values)")
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage)
    }

    func testAStalledRolloutIsRolledBack() throws {
        try harness.emulator("POST", "rollout-behaviour", #"{"namespace":"luminate","kind":"Deployment","name":"luminate","outcome":"stall","count":1,"deadlineSeconds":3}"#)
        let (result, json) = try deploy("2.4.3")
        XCTAssertEqual(result.status, .exited(1), result.stderrText + result.stdoutText)
        XCTAssertEqual(json["decision"]?["criterion"]?.string, "rollout", result.stdoutText)
        XCTAssertTrue(json["decision"]?["summary"]?.string?.contains("progress deadline") ?? false, result.stdoutText)
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage)
    }

    func testKubectlFailingMidApplyIsReportedAndNeverASuccess() throws {
        try harness.emulator("POST", "fail", #"{"method":"PATCH","pathPrefix":"/apis/apps/v1/namespaces/luminate/deployments/luminate","status":500,"count":-1,"dryRun":false,"message":"etcdserver: request timed out"}"#)
        let (result, json) = try deploy("2.4.4")
        XCTAssertEqual(result.status, .exited(1), result.stderrText + result.stdoutText)
        XCTAssertEqual(json["result"]?.string, "rolled-back", result.stdoutText)
        XCTAssertEqual(json["decision"]?["criterion"]?.string, "apply")
        XCTAssertTrue(json["decision"]?["summary"]?.string?.contains("etcdserver: request timed out") ?? false, result.stdoutText)
        try harness.emulator("DELETE", "fail")
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage, "the Deployment was never changed")
        let journal = try String(contentsOfFile: harness.journalPath, encoding: .utf8)
        XCTAssertFalse(journal.contains(#""outcome":"success""#), "never journaled as a success")
    }

    func testADeployWhileTheLockIsHeldExitsSeventyFive() throws {
        let hold = try harness.luminatectl(["lock", "hold", "--duration", "2m", "--reason", "deploy e2e freeze"])
        XCTAssertEqual(hold.status, .exited(0), hold.stderrText)
        defer { _ = try? harness.luminatectl(["lock", "release"]) }
        let (result, _) = try deploy("2.4.5")
        XCTAssertEqual(result.status, .exited(75), result.stderrText)
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage)
    }
}
