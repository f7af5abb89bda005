import Foundation
import XCTest
@testable import OpsKit

/// The hourly CronJob, as the manifests run it: `backup create --wait-lock 10m`, configured by
/// the ConfigMap's file (manifests/base/data-protection/luminatectl.yaml, the `production`
/// environment) with only its addresses pointed at the sandbox, reporting to the Pushgateway,
/// which the sandbox's Prometheus scrapes. No secret may show anywhere.
final class BackupCronJobIntegrationTests: XCTestCase {
    static let configMap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/base/data-protection/luminatectl.yaml").path

    /// The ConfigMap's file with the in-cluster addresses replaced by the sandbox's (the modern
    /// node stands in for production's ClickHouse, a single server: no cluster).
    func cronJobConfiguration(_ h: BackupHarness) throws -> String {
        let process = try Sandbox.require(["LUMINATECTL_MODERN_CLICKHOUSE_URL", "LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE",
                                           "LUMINATECTL_PROMETHEUS_URL", "LUMINATECTL_PUSHGATEWAY_URL", "LUMINATECTL_S3_ENDPOINT",
                                           "LUMINATECTL_S3_ACCESS_KEY_ID", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"])
        var text = try String(contentsOfFile: Self.configMap, encoding: .utf8)
        let keyFile = h.scratch + "/s3-access-key-id"
        try process["LUMINATECTL_S3_ACCESS_KEY_ID"]!.write(toFile: keyFile, atomically: true, encoding: .utf8)
        let replacements = [
            ("http://clickhouse.luminate.svc.cluster.local:8123", process["LUMINATECTL_MODERN_CLICKHOUSE_URL"]!),
            ("      native: clickhouse.luminate.svc.cluster.local:9000\n", ""),
            ("cluster: luminate", "cluster: \"\""),
            ("/var/run/secrets/luminatectl/clickhouse-password", process["LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE"]!),
            ("http://prometheus-operated.monitoring.svc.cluster.local:9090", process["LUMINATECTL_PROMETHEUS_URL"]!),
            ("http://prometheus-pushgateway.monitoring.svc.cluster.local:9091", process["LUMINATECTL_PUSHGATEWAY_URL"]!),
            ("https://s3.eu-west-1.amazonaws.com", process["LUMINATECTL_S3_ENDPOINT"]!),
            ("region: eu-west-1", "region: us-east-1"),
            ("bucket: luminate-backups-production", "bucket: luminate-backups-local"),
            ("prefix: clickhouse/luminate/", "prefix: clickhouse/\(h.folder)"),
            ("diskPath: luminate/", "diskPath: \(h.folder)"),
            ("/var/run/secrets/luminatectl/s3-access-key-id", keyFile),
            ("/var/run/secrets/luminatectl/s3-secret-access-key", process["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"]!),
        ]
        for (from, to) in replacements {
            XCTAssertTrue(text.contains(from), "the ConfigMap no longer has \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        let path = h.scratch + "/config.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The CronJob's environment: its ConfigMap, LUMINATECTL_ENV from luminatectl-env, the
    /// Pushgateway; kubectl reaches the emulator as it would reach the API server from the pod.
    func cronJobEnvironment(_ h: BackupHarness) throws -> [String: String?] {
        var environment: [String: String?] = [:]
        for name in ["LUMINATECTL_S3_ENDPOINT", "LUMINATECTL_S3_REGION", "LUMINATECTL_S3_BUCKET", "LUMINATECTL_S3_PREFIX",
                     "LUMINATECTL_S3_ACCESS_KEY_ID", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE", "LUMINATECTL_BACKUP_DISK_PATH"] {
            environment[name] = .some(nil)
        }
        environment["LUMINATECTL_CONFIG"] = try cronJobConfiguration(h)
        environment["LUMINATECTL_ENV"] = "production"
        environment["LUMINATECTL_PUSHGATEWAY_URL"] = ProcessInfo.processInfo.environment["LUMINATECTL_PUSHGATEWAY_URL"]
        environment["LUMINATECTL_CONTEXT"] = "luminate-local"
        environment["NO_COLOR"] = "1"
        return environment
    }

    func testTheCronJobsCommandLineBacksUpAndReportsToPrometheus() throws {
        let h = try BackupHarness.modern()
        let started = Date()
        let result = try h.binary(["-v", "backup", "create", "--wait-lock", "10m"], environment: try cronJobEnvironment(h))
        let all = result.stdoutText + result.stderrText
        XCTAssertEqual(result.status, .exited(0), all)
        XCTAssertTrue(result.stdoutText.contains("complete: 120000 rows"), result.stdoutText)

        // luminate_backup_last_success_timestamp_seconds through the Pushgateway into Prometheus.
        let prometheus = PrometheusClient(baseURL: ProcessInfo.processInfo.environment["LUMINATECTL_PROMETHEUS_URL"]!, http: CurlTransport())
        var value: Double?
        let deadline = Date().addingTimeInterval(20)
        while value == nil, Date() < deadline {
            let sample = try? prometheus.instantValue(
                query: #"max(luminate_backup_last_success_timestamp_seconds{job="luminate-backup",namespace="luminate"})"#, at: Date())
            value = sample.flatMap { $0 }.flatMap { $0 >= started.timeIntervalSince1970.rounded(.down) ? $0 : nil }
            if value == nil { Thread.sleep(forTimeInterval: 0.5) }
        }
        XCTAssertNotNil(value, "the success metric of this run did not reach Prometheus within 20 s")

        // No secret in the output (with -v: every request and subprocess), the journal or the manifest.
        let store = try h.store()
        let manifests = try store.list(prefix: "", delimiter: nil).objects.filter { $0.key.hasSuffix(BackupLayout.manifestName) }
        XCTAssertEqual(manifests.count, 1)
        let manifest = String(decoding: try store.read(manifests[0].key) ?? Data(), as: UTF8.self)
        let journal = try h.journal()
        XCTAssertTrue(journal.contains("\"kind\":\"backup\""), journal)
        XCTAssertFalse(h.secrets.isEmpty)
        for secret in h.secrets {
            for (name, text) in [("output", all), ("journal", journal), ("manifest", manifest)] {
                XCTAssertFalse(text.contains(secret), "a secret appears in the \(name)")
            }
        }
        XCTAssertTrue(all.contains("X-ClickHouse-Key: <redacted>"), "verbose output shows requests")
    }

    func testWhileAFreezeHoldsTheLockTheJobWaitsThenExits75() throws {
        let h = try BackupHarness.modern()
        let environment = try cronJobEnvironment(h)
        let hold = try h.binary(["lock", "hold", "--duration", "2m", "--reason", "test: freeze during the CronJob"], environment: environment)
        XCTAssertEqual(hold.status, .exited(0), hold.stderrText)
        defer { _ = try? h.binary(["lock", "release", "--reason", "test over"], environment: environment) }

        let started = Date()
        let result = try h.binary(["backup", "create", "--wait-lock", "3s"], environment: environment)
        XCTAssertEqual(result.status, .exited(75), result.stderrText)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 3, "it waited for the lock first")
        XCTAssertTrue(result.stderrText.contains("test: freeze during the CronJob") || result.stderrText.contains("lock.hold"), result.stderrText)
        XCTAssertEqual(try h.store().list(prefix: "", delimiter: nil).objects, [], "nothing was written")
    }
}
