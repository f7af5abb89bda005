import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// The policy keys deploy reads: a window's `admits`, `rollback.maxInconclusive`,
/// `rollback.corruption`, `rollback.security`, `deploy`.
final class DeployPolicyConfigurationTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "luminatectl-deploy-policy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `environments: {lab: {policy: <policy>}}` (policy indented under line 3) and loads it.
    func load(policy: String) throws -> Configuration {
        let text = "environments:\n  lab:\n    policy:\n" + policy.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "      " + $0 }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var globals = GlobalOptions()
        globals.configFile = path
        return try ConfigurationLoader(context: Context.fake(workingDirectory: directory)).load(globals)
    }

    var path: String { "\(directory!)/luminatectl.yaml" }

    func mark(_ line: Int, _ column: Int) -> SourceMark { SourceMark(file: path, line: line, column: column) }

    /// The error `policy` gives, as printed.
    func error(policy: String) -> String {
        do {
            _ = try load(policy: policy)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testEveryKey() throws {
        let c = try load(policy: """
            maintenanceWindows:
              - {name: weekly, every: saturday, start: "02:00", duration: 2h}
              - {name: monthly, every: first-sunday, start: "02:00", duration: 4h}
              - {name: big-saturday, every: saturday, start: "10:00", duration: 1h, admits: major}
              - {name: small-sunday, every: first-sunday, start: "10:00", duration: 1h, admits: minor}
            rollback:
              maxInconclusive: 4
              corruption:
                defaults: false
                probes:
                  - {name: orphan-rows, query: "SELECT 1 FROM luminate.metrics WHERE 0"}
                  - {name: stale-parts, query: "SELECT name FROM system.parts WHERE 0"}
              security:
                command: [trivy, image, --exit-code, "1", "{image}"]
            deploy:
              bake: 15m
              interval: 10s
              statefulSetTimeout: 45m
              nonSemverTags: minor
            """)
        let p = c.policy
        XCTAssertEqual(p.maintenanceWindows.map(\.admits), [.minor, .major, .major, .minor],
                       "weekly windows default to minor, first-<weekday> ones to major")
        XCTAssertEqual(p.rollback.maxInconclusive, 4)
        XCTAssertFalse(p.rollback.corruption.defaults)
        XCTAssertEqual(p.rollback.corruption.probes, [
            CorruptionProbes.Probe(name: "orphan-rows", query: "SELECT 1 FROM luminate.metrics WHERE 0"),
            CorruptionProbes.Probe(name: "stale-parts", query: "SELECT name FROM system.parts WHERE 0"),
        ])
        XCTAssertEqual(p.rollback.securityCommand, ["trivy", "image", "--exit-code", "1", "{image}"])
        XCTAssertEqual(p.deploy.bake, 900)
        XCTAssertEqual(p.deploy.interval, 10)
        XCTAssertEqual(p.deploy.statefulSetTimeout, 2700)
        XCTAssertFalse(p.deploy.nonSemverTagsAreMajor)
        XCTAssertEqual(c.policySources["rollback.maxInconclusive"], mark(10, 26))
        XCTAssertEqual(c.policySources["rollback.corruption"], mark(12, 11))
        XCTAssertEqual(c.policySources["rollback.security.command"], mark(17, 20))
        XCTAssertEqual(c.policySources["deploy.bake"], mark(19, 15))
        XCTAssertEqual(c.policySources["deploy.interval"], mark(20, 19))
        XCTAssertEqual(c.policySources["deploy.statefulSetTimeout"], mark(21, 29))
        XCTAssertEqual(c.policySources["deploy.nonSemverTags"], mark(22, 24))
    }

    func testDefaultsWhenAbsent() throws {
        let p = try load(policy: "rollback: {}\ndeploy: {}").policy
        XCTAssertEqual(p.maintenanceWindows, MaintenanceWindow.guideDefaults)
        XCTAssertEqual(p.rollback.maxInconclusive, 10)
        XCTAssertEqual(p.rollback.corruption, CorruptionProbes())
        XCTAssertNil(p.rollback.securityCommand)
        XCTAssertEqual(p.deploy, DeployPolicy())
        XCTAssertTrue(p.deploy.nonSemverTagsAreMajor)
    }

    func testWindowAdmitsMustBeASize() {
        XCTAssertEqual(error(policy: """
            maintenanceWindows:
              - {name: weekly, every: saturday, start: "02:00", duration: 2h, admits: huge}
            """), "\(path):5:81: environments.lab.policy.maintenanceWindows[0].admits: expected minor or major, found 'huge'")
    }

    func testMaxInconclusiveIsAtLeastOne() {
        XCTAssertEqual(error(policy: "rollback:\n  maxInconclusive: 0"),
                       "\(path):5:26: environments.lab.policy.rollback.maxInconclusive: expected an integer >= 1, found '0'")
        XCTAssertEqual(error(policy: "rollback:\n  maxInconclusive: many"),
                       "\(path):5:26: environments.lab.policy.rollback.maxInconclusive: expected an integer >= 1, found 'many'")
    }

    func testCorruptionProbeNamesAreUnique() {
        XCTAssertEqual(error(policy: """
            rollback:
              corruption:
                probes:
                  - {name: orphan-rows, query: "SELECT 1"}
                  - {name: orphan-rows, query: "SELECT 2"}
            """), "\(path):8:22: environments.lab.policy.rollback.corruption.probes[1].name: probe name 'orphan-rows' is already used at line 7, column 22: findings name their probe")
    }

    func testCorruptionProbeQueryIsNotEmpty() {
        XCTAssertEqual(error(policy: """
            rollback:
              corruption:
                probes:
                  - {name: orphan-rows, query: "  "}
            """), "\(path):7:42: environments.lab.policy.rollback.corruption.probes[0].query: the query is empty: it would never find anything")
        XCTAssertEqual(error(policy: """
            rollback:
              corruption:
                probes:
                  - {name: orphan-rows}
            """), "\(path):7:15: environments.lab.policy.rollback.corruption.probes[0]: missing key 'query'")
        XCTAssertEqual(error(policy: """
            rollback:
              corruption:
                probes:
                  - {name: "", query: "SELECT 1"}
            """), "\(path):7:22: environments.lab.policy.rollback.corruption.probes[0].name: a probe needs a name, which its findings carry")
    }

    func testCorruptionDefaultsIsABool() {
        XCTAssertEqual(error(policy: "rollback:\n  corruption: {defaults: maybe}"),
                       "\(path):5:32: environments.lab.policy.rollback.corruption.defaults: expected true or false, found 'maybe'")
        XCTAssertEqual(error(policy: "rollback:\n  corruption: {default: false}"),
                       "\(path):5:22: environments.lab.policy.rollback.corruption.default: unknown key 'default' (did you mean 'defaults'?); known keys: defaults, probes")
    }

    func testSecurityCommandNeedsTheImage() throws {
        let message = error(policy: "rollback:\n  security:\n    command: [trivy, image, --exit-code, \"1\", luminate]")
        XCTAssertEqual(message, "\(path):6:20: environments.lab.policy.rollback.security.command: no argument contains {image}: the command would not know which image to check")
        do {
            _ = try load(policy: "rollback:\n  security:\n    command: [trivy]")
            XCTFail("expected an error")
        } catch let error as ConfigError {
            XCTAssertEqual(error.hint, "write the image's place as {image}, e.g. [trivy, image, --exit-code, \"1\", \"{image}\"]")
            XCTAssertEqual(error.exitCode, .usage)
        }
        XCTAssertEqual(try load(policy: "rollback:\n  security:\n    command: [scan, \"--ref={image}\"]").policy.rollback.securityCommand,
                       ["scan", "--ref={image}"], "{image} may sit inside an argument")
    }

    func testSecurityCommandIsANonEmptyList() {
        XCTAssertEqual(error(policy: "rollback:\n  security:\n    command: []"),
                       "\(path):6:20: environments.lab.policy.rollback.security.command: expected a command and its arguments, found an empty list")
        XCTAssertEqual(error(policy: "rollback:\n  security:\n    command: trivy image {image}"),
                       "\(path):6:20: environments.lab.policy.rollback.security.command: expected a list, found a scalar")
        XCTAssertEqual(error(policy: "rollback:\n  security: {}"),
                       "\(path):5:19: environments.lab.policy.rollback.security: missing key 'command'")
        XCTAssertEqual(error(policy: "rollback:\n  security:\n    command: [\"\", \"{image}\"]"),
                       "\(path):6:21: environments.lab.policy.rollback.security.command[0]: the program to run is empty")
    }

    func testDeployIntervalIsAtLeastOneSecond() {
        XCTAssertEqual(error(policy: "deploy:\n  interval: 500ms"),
                       "\(path):5:19: environments.lab.policy.deploy.interval: expected at least 1s, found '500ms': each evaluation queries Prometheus")
        XCTAssertEqual(try load(policy: "deploy:\n  interval: 1s").policy.deploy.interval, 1)
    }

    func testDeployDurationsAndNonSemverTags() {
        XCTAssertEqual(error(policy: "deploy:\n  bake: soon"),
                       "\(path):5:15: environments.lab.policy.deploy.bake: expected a duration like 90s, 5m, 1h or 30d, found 'soon'")
        XCTAssertEqual(error(policy: "deploy:\n  statefulSetTimeout: 0s"),
                       "\(path):5:29: environments.lab.policy.deploy.statefulSetTimeout: expected a duration like 90s, 5m, 1h or 30d, found '0s'")
        XCTAssertEqual(error(policy: "deploy:\n  nonSemverTags: sometimes"),
                       "\(path):5:24: environments.lab.policy.deploy.nonSemverTags: expected minor or major, found 'sometimes'")
        XCTAssertEqual(error(policy: "deploy:\n  intervall: 10s"),
                       "\(path):5:9: environments.lab.policy.deploy.intervall: unknown key 'intervall' (did you mean 'interval'?); known keys: bake, interval, statefulSetTimeout, nonSemverTags")
    }

    func testConfigViewShowsTheDeployKeysWithTheirSources() throws {
        _ = try load(policy: """
            rollback:
              maxInconclusive: 1
              corruption: {probes: [{name: orphan-rows, query: "SELECT 1"}]}
              security: {command: [trivy, image, --severity, "HIGH, CRITICAL", "{image}"]}
            deploy: {bake: 5m, nonSemverTags: minor}
            """)
        let output = CapturedOutput()
        let code = Luminatectl.run(["--config", path, "config", "view"], context: Context.fake(output: output, workingDirectory: directory))
        XCTAssertEqual(code, .success, output.stderr)
        let lines = output.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: " +", with: " ", options: .regularExpression) }
        let wanted = [
            "policy.maintenanceWindows[0] weekly: every saturday 02:00-04:00 UTC, admits minor default",
            "policy.maintenanceWindows[1] monthly: first sunday of the month 02:00-06:00 UTC, admits major default",
            "policy.rollback.maxInconclusive 1 file \(path):5:26",
            "policy.rollback.corruption built-in probes and orphan-rows file \(path):6:21",
            "policy.rollback.security.command trivy image --severity 'HIGH, CRITICAL' {image} file \(path):7:29",
            "policy.deploy.bake 10m (5m raised to the longest criterion window) file \(path):8:22",
            "policy.deploy.interval 30s default",
            "policy.deploy.statefulSetTimeout 30m default",
            "policy.deploy.nonSemverTags minor file \(path):8:41",
        ]
        for line in wanted {
            XCTAssertTrue(lines.contains(line), "missing: \(line)\n\(output.stdout)")
        }
    }
}
