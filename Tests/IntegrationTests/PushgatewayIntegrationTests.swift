import Foundation
import XCTest
@testable import OpsKit

/// `PushgatewayClient` over `CurlTransport` against the sandbox's Pushgateway (Debian's 1.5.1),
/// read back through the sandbox's Prometheus, which scrapes it every ~2 s with
/// `honor_labels: true` as production does (docs/monitoring.md). Each test pushes into a group of
/// its own (`namespace="it-<uuid>"`) and deletes it, so runs never see each other's metrics.
final class PushgatewayIntegrationTests: XCTestCase {
    private var pushgateway: PushgatewayClient!
    private var prometheus: PrometheusClient!
    /// Groups a test pushed; deleted after it, whatever happened.
    private var pushed: [PushgatewayGroupingKey] = []

    /// A few scrapes; a pushed sample shows within one scrape interval plus evaluation.
    private let scrapeWait: Double = 15

    override func setUpWithError() throws {
        let environment = try Sandbox.require(["LUMINATECTL_PUSHGATEWAY_URL", "LUMINATECTL_PROMETHEUS_URL"])
        pushgateway = PushgatewayClient(baseURL: environment["LUMINATECTL_PUSHGATEWAY_URL"]!, http: CurlTransport())
        prometheus = PrometheusClient(baseURL: environment["LUMINATECTL_PROMETHEUS_URL"]!, http: CurlTransport())
    }

    override func tearDownWithError() throws {
        for key in pushed { try? pushgateway?.delete(key) }
    }

    /// The backup job's grouping key, in a namespace of this test's own.
    private func backupGroup() -> PushgatewayGroupingKey {
        let key = PushgatewayGroupingKey(job: "luminate-backup", labels: [MetricLabel("namespace", "it-\(UUID().uuidString.lowercased())")])
        pushed.append(key)
        return key
    }

    private func namespace(of key: PushgatewayGroupingKey) -> String { key.labels.first { $0.name == "namespace" }!.value }

    /// The samples of `query` evaluated at the current time (explicitly: the client never
    /// evaluates at Prometheus' "now"), polled until `done` holds or `scrapeWait` passes.
    private func poll(_ query: String, until done: ([PrometheusSample]) -> Bool) throws -> [PrometheusSample] {
        let deadline = Date().addingTimeInterval(scrapeWait)
        var samples: [PrometheusSample] = []
        repeat {
            samples = try prometheus.instant(query: query, at: Date()).samples ?? []
            if done(samples) { return samples }
            usleep(250_000)
        } while Date() < deadline
        return samples
    }

    func testAPushedGaugeReachesPrometheusWithTheBackupJobThenDeletingRemovesIt() throws {
        let key = backupGroup()
        let namespace = namespace(of: key)
        // Whole seconds plus a random fraction: unique per run, and a value that a lossy
        // formatting (1.796e+09) would visibly change.
        let value = Double(Int(Date().timeIntervalSince1970)) + Double(Int.random(in: 1...999)) / 1000
        try pushgateway.replace([.gauge(
            "luminate_backup_last_success_timestamp_seconds",
            help: "Unix time at which the newest successful backup finished.", value: value)], in: key)

        let query = #"luminate_backup_last_success_timestamp_seconds{namespace="\#(namespace)"}"#
        let samples = try poll(query) { !$0.isEmpty }
        XCTAssertEqual(samples.count, 1, "not scraped within \(scrapeWait) s: \(samples)")
        let sample = try XCTUnwrap(samples.first)
        // honor_labels kept the pushed job; without it the label would be exported_job and job
        // would be the scrape job's.
        XCTAssertEqual(sample.labels["job"], "luminate-backup")
        XCTAssertNil(sample.labels["exported_job"])
        XCTAssertEqual(sample.labels["namespace"], namespace)
        XCTAssertEqual(sample.value, value, "the value came back changed")

        XCTAssertTrue(try pushgateway.groups().contains { $0.labels["namespace"] == namespace })
        try pushgateway.delete(key)
        let groups = try pushgateway.groups()
        XCTAssertFalse(groups.contains { $0.labels["namespace"] == namespace }, "the group is still on the Pushgateway: \(groups)")
        // The next scrape no longer has the series, so Prometheus marks it stale.
        XCTAssertEqual(try poll(query) { $0.isEmpty }, [], "Prometheus still has the deleted series")
    }

    func testGroupingValuesWithSlashesBlanksEmptinessAndUnicodeComeBackAsPushed() throws {
        let key = PushgatewayGroupingKey(job: "luminate-it/\(UUID().uuidString.prefix(8))", labels: [
            MetricLabel("path", "/var/backups/luminate"), MetricLabel("empty", ""), MetricLabel("words", "a b+c&d=e?f#g%h"),
            MetricLabel("unicode", "é日本🙂"),
        ])
        pushed.append(key)
        let name = "luminatectl_it_grouping_\(UUID().uuidString.prefix(8).lowercased())"
        try pushgateway.replace([.gauge(name, labels: [MetricLabel("quote", #"a"b\c"#)], value: 1)], in: key)
        let group = try XCTUnwrap(try pushgateway.groups().first { $0.labels["job"] == key.job })
        XCTAssertEqual(group.labels, [
            "job": key.job, "path": "/var/backups/luminate", "empty": "", "words": "a b+c&d=e?f#g%h", "unicode": "é日本🙂",
        ])
        XCTAssertEqual(group.metrics, [name])
        try pushgateway.delete(key)
        XCTAssertFalse(try pushgateway.groups().contains { $0.labels["job"] == key.job })
    }

    func testAPutReplacesTheWholeGroup() throws {
        let key = backupGroup()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        try pushgateway.replace([.gauge("luminatectl_it_a_\(suffix)", value: 1), .gauge("luminatectl_it_b_\(suffix)", value: 2)], in: key)
        try pushgateway.replace([.gauge("luminatectl_it_a_\(suffix)", value: 3)], in: key)
        let group = try XCTUnwrap(try pushgateway.groups().first { $0.labels["namespace"] == namespace(of: key) })
        XCTAssertEqual(group.metrics, ["luminatectl_it_a_\(suffix)"])
    }

    func testATypeClashIsRefusedWithThePushgatewaysReason() throws {
        let name = "luminatectl_it_clash_\(UUID().uuidString.prefix(8).lowercased())"
        try pushgateway.replace([.gauge(name, value: 1)], in: backupGroup())
        let other = backupGroup()
        XCTAssertThrowsError(try pushgateway.replace([MetricFamily(name: name, kind: .counter, samples: [.init(value: 1)])], in: other)) { error in
            guard case .rejected(_, "PUT", let path, 400, let body)? = error as? PushgatewayError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/metrics/job/luminate-backup/namespace/\(self.namespace(of: other))")
            // Which of the two it names depends on the order the Pushgateway compares them in.
            XCTAssertTrue(body.contains("is not a GAUGE") || body.contains("is not a COUNTER"), body)
            XCTAssertNotNil((error as? PushgatewayError)?.hint)
        }
    }

    func testReadyStatusAndAnUnreachablePushgateway() throws {
        XCTAssertTrue(try pushgateway.ready())
        let version = try XCTUnwrap(try pushgateway.status().version)
        XCTAssertNotNil(version.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression), version)

        let nowhere = PushgatewayClient(baseURL: "http://127.0.0.1:1", http: CurlTransport(), timeout: 5)
        XCTAssertThrowsError(try nowhere.delete(PushgatewayGroupingKey(job: "luminate-backup"))) { error in
            guard case .unreachable(let host, let url, _)? = error as? PushgatewayError else { return XCTFail("\(error)") }
            XCTAssertEqual(host, "127.0.0.1:1")
            XCTAssertEqual(url, "http://127.0.0.1:1")
            XCTAssertTrue((error as? PushgatewayError)?.hint?.contains("LUMINATECTL_PUSHGATEWAY_URL") == true)
        }
    }

    /// `config check` from the built binary reports the Pushgateway with its version (only the
    /// Pushgateway is configured here, so the other rows are skipped or fail; this test reads
    /// its own row).
    func testConfigCheckReportsThePushgatewayAndItsVersion() throws {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let binary = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("luminatectl").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        let executable = try XCTUnwrap(binary, "luminatectl is not built next to the tests")
        var environment: [String: String?] = [:]
        for name in ProcessInfo.processInfo.environment.keys where name.hasPrefix("LUMINATECTL_") || name == "KUBECONFIG" {
            environment[name] = .some(nil)
        }
        environment["LUMINATECTL_PUSHGATEWAY_URL"] = pushgateway.baseURL
        environment["KUBECONFIG"] = "/nonexistent/kubeconfig"
        // No configuration file either: ./luminatectl.yaml or ~/.config/luminatectl/ could configure more.
        environment["HOME"] = "/nonexistent"
        environment["XDG_CONFIG_HOME"] = .some(nil)
        let result = try PosixProcessRunner().run(
            ProcessRequest(executable, ["config", "check", "-o", "json"], environment: environment, timeout: 60), interrupt: Interrupt())
        let json = try JSONValue.parse(result.stdout)
        let row = try XCTUnwrap(json["endpoints"]?.array?.first { $0["endpoint"] == "pushgateway" }, result.stdoutText + result.stderrText)
        XCTAssertEqual(row["status"], "ok", result.stdoutText)
        XCTAssertEqual(row["target"], .string(pushgateway.baseURL))
        XCTAssertTrue(row["detail"]?.string?.hasPrefix("ready, version ") == true, result.stdoutText)
    }
}
