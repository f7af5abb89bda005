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

/// The deploy's read-only paths and its guards in the sandbox: `--dry-run`, the gate outside its
/// window, the RPO guard with `--backup-first`, the change-request document, Ctrl-C while
/// watching and the manual rollback it names.
final class DeployGuardIntegrationTests: XCTestCase {
    private static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    /// A weekly window three days from today: never open while the test runs.
    private static var distantWindow: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let day = calendar.component(.weekday, from: Date().addingTimeInterval(3 * 86400))
        return "maintenanceWindows: [{name: weekly, every: \(weekdays[day - 1]), start: \"02:00\", duration: 2h}]"
    }

    private func image(_ tag: String) -> [String] { ["--image", "luminate=ghcr.io/luminate/luminate:\(tag)"] }

    func testADryRunShowsTheGateThePreflightAndTheDiffAndChangesNothing() throws {
        let harness = try DeployHarness(extraPolicy: Self.distantWindow)
        try harness.startHealthy()
        let admitted = try harness.luminatectl(["deploy", "--overlay", "production"] + image("2.4.6") + DeployHarness.emergency + ["--dry-run"])
        XCTAssertEqual(admitted.status, .exited(0), admitted.stderrText)
        for expected in ["policy gate: admitted as an EMERGENCY", "checklist (static): pass", "RPO guard: skipped",
                         "diff: 1 object changes", "Deployment/luminate/luminate: +1 -1 lines",
                         "Deployment/luminate/luminate: revision", "rollout status deployment/luminate"] {
            XCTAssertTrue(admitted.stdoutText.contains(expected), "\(expected) in:\n\(admitted.stdoutText)")
        }
        let refused = try harness.luminatectl(["deploy", "--overlay", "production"] + image("2.4.6") + ["--skip-rpo-guard", "--reason", "x", "--dry-run"])
        XCTAssertEqual(refused.status, .exited(1), "a dry run of a refused deploy says so by its exit code too")
        XCTAssertTrue(refused.stdoutText.contains("REFUSED"), refused.stdoutText)
        XCTAssertTrue(refused.stderrText.contains("outside its maintenance window: the next window that admits it is weekly"), refused.stderrText)
        let major = try harness.luminatectl(["deploy", "--overlay", "production"] + image("3.0.0") + ["--skip-rpo-guard", "--reason", "x", "--dry-run", "-o", "json"])
        XCTAssertEqual(major.status, .exited(1))
        XCTAssertEqual(try JSONValue.parse(major.stdout)["plan"]?["change"]?.string, "major")
        XCTAssertTrue(major.stderrText.contains("no maintenance window admits one"), major.stderrText)
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage, "nothing changed")
    }

    func testTheRPOGuardRefusesWithoutARecentBackupAndBackupFirstTakesOneUnderTheSameLock() throws {
        let harness = try DeployHarness(backupStore: true)
        try harness.startHealthy()
        let refused = try harness.luminatectl(["deploy", "--overlay", "production"] + image(DeployHarness.healthyImage.components(separatedBy: ":").last!)
                                               + ["--emergency", "--approved-by", "it", "--reason", "rpo"])
        XCTAssertEqual(refused.status, .exited(1), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("RPO guard: the backup store holds no complete backup"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("--backup-first"), refused.stderrText)

        let deployed = try harness.luminatectl(["deploy", "--overlay", "production", "--backup-first", "--emergency", "--approved-by", "it", "--reason", "rpo"])
        XCTAssertEqual(deployed.status, .exited(0), deployed.stderrText + deployed.stdoutText)
        XCTAssertTrue(deployed.stdoutText.contains("Nothing to deploy"), deployed.stdoutText)
        let journal = try String(contentsOfFile: harness.journalPath, encoding: .utf8)
        let deploy = journal.split(separator: "\n").filter { $0.contains(#""kind":"deploy""#) || $0.contains(#""operation":"deploy""#) }
        XCTAssertTrue(journal.contains("record the rollback point"), journal)
        XCTAssertFalse(deploy.isEmpty)
        let list = try harness.luminatectl(["backup", "list", "-o", "json"])
        XCTAssertEqual(list.status, .exited(0), list.stderrText)
        XCTAssertEqual(try JSONValue.parse(list.stdout)["backups"]?.array?.count, 1, list.stdoutText)
    }

    func testTheChangeRequestDocumentStatesWhatWhyRollbackTestingAndWindow() throws {
        let harness = try DeployHarness()
        try harness.startHealthy()
        let result = try harness.luminatectl(["deploy", "plan", "--overlay", "production"] + image("2.5.0") + DeployHarness.emergency
                                              + ["--change-request", "CHG-1042", "-o", "markdown"])
        XCTAssertEqual(result.status, .exited(0), result.stderrText)
        let document = result.stdoutText
        for expected in ["# Change request CHG-1042", "## What changes", "`Deployment/luminate` container `luminate`: `ghcr.io/luminate/luminate:2.4.1` → `ghcr.io/luminate/luminate:2.5.0`",
                         "## Why", "deploy e2e", "## Rollback plan", "Deployment/luminate/luminate: revision", "rollout undo deployment/luminate --to-revision=",
                         "## Testing performed", "Checklist, static checks over the manifests to apply: pass", "Last restore drill", "## Window"] {
            XCTAssertTrue(document.contains(expected), "\(expected) in:\n\(document)")
        }
    }

    func testCtrlCWhileWatchingLeavesTheDeploymentAndTheNamedRollbackReturnsIt() throws {
        let harness = try DeployHarness(bake: "10m")
        try harness.startHealthy()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BackupHarness.binaryPath)
        process.arguments = ["deploy", "--overlay", "production"] + image("2.4.7") + DeployHarness.emergency
        process.environment = harness.environment
        process.currentDirectoryURL = URL(fileURLWithPath: DeployHarness.repository)
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !text.contains("baking") {
            text += String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self)
        }
        XCTAssertTrue(text.contains("baking"), text)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        text += String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, text)
        XCTAssertEqual(try harness.deployedImage(), "ghcr.io/luminate/luminate:2.4.7", "left as it is")
        let hint = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("to roll it back: ") }, text)
        let command = hint.components(separatedBy: "to roll it back: ").last!
        let operation = try XCTUnwrap(command.components(separatedBy: " ").first { $0.hasPrefix("op-") }, command)
        let journal = try String(contentsOfFile: harness.journalPath, encoding: .utf8)
        XCTAssertTrue(journal.contains(#""event":"interrupted""#), journal)

        let rollback = try harness.luminatectl(["rollback", "--deploy", operation, "--reason", "after Ctrl-C"])
        XCTAssertEqual(rollback.status, .exited(0), rollback.stderrText + rollback.stdoutText)
        XCTAssertTrue(rollback.stdoutText.contains("Decision: roll back (manual)"), rollback.stdoutText)
        XCTAssertEqual(try harness.deployedImage(), DeployHarness.healthyImage)
    }
}
