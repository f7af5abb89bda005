import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// MON, DP, PERF and OPS static and config rules: the good fixture passes; one change fails.
final class StaticMonitoringOperationsTests: XCTestCase {
    func assertOutcome(
        _ check: ChecklistCheck, _ index: ManifestIndex?, _ outcome: CheckOutcome, _ fragment: String,
        scope: StaticScope? = nil, config: Bool = false, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let scope = try scope ?? ChecklistFixtures.scope(index)
        let finding = try (config ? check.configRule! : check.staticRule!)(scope)
        XCTAssertEqual(finding.outcome, outcome, "\(check.id): \(finding.message)\n\(finding.evidence.joined(separator: "\n"))", file: file, line: line)
        let text = ([finding.message] + finding.evidence).joined(separator: "\n")
        XCTAssertTrue(text.contains(fragment), "\(check.id): '\(fragment)' not in:\n\(text)", file: file, line: line)
    }

    // MARK: MON

    func testMON1ServiceMonitorPodMonitorOrAnnotation() throws {
        try assertOutcome(MonitoringChecks.scraping, nil, .pass, "ServiceMonitor/luminate/luminate (good/monitoring.yaml:1): scrapes Service/luminate/luminate")
        let astray = try ChecklistFixtures.goodIndex().changing("ServiceMonitor", "luminate") { $0.setPath("spec.selector.matchLabels", ["app.kubernetes.io/name": "other"]) }
        try assertOutcome(MonitoringChecks.scraping, astray, .fail, "nothing makes Prometheus scrape Luminate")
        let annotated = astray.changing("Deployment", "luminate") { $0.setPath("spec.template.metadata.annotations", ["prometheus.io/scrape": "true"]) }
        try assertOutcome(MonitoringChecks.scraping, annotated, .pass, "prometheus.io/scrape")
    }

    func testMON2DashboardsAreValidAndChartTheKeyMetrics() throws {
        try assertOutcome(MonitoringChecks.dashboards, nil, .pass, "'Luminate overview', 3 panel(s)")
        let invalid = try ChecklistFixtures.goodIndex().changing("ConfigMap", "luminate-dashboard") { $0.setPath("data", ["luminate.json": "{\"title\": \"x\", \"panels\": [}"]) }
        try assertOutcome(MonitoringChecks.dashboards, invalid, .fail, "key luminate.json: not valid JSON")
        let partial = try ChecklistFixtures.goodIndex().changing("ConfigMap", "luminate-dashboard") {
            $0.setPath("data", ["luminate.json": #"{"title": "x", "panels": [{"targets": [{"expr": "rate(luminate_http_requests_total[5m])"}]}]}"#])
        }
        try assertOutcome(MonitoringChecks.dashboards, partial, .fail, "the dashboards chart none of luminate_http_request_duration_seconds")
        try assertOutcome(MonitoringChecks.dashboards, try ChecklistFixtures.goodIndex().removing("ConfigMap"), .fail, "no Grafana dashboard")
    }

    func testMON3SixTopicsFromPrometheusRulesAndPlainFiles() throws {
        try assertOutcome(MonitoringChecks.alertRules, nil, .pass, "backup age: LuminateBackupTooOld")
        try assertOutcome(MonitoringChecks.alertRules, nil, .pass, "promtool not installed: rules not validated")
        try assertOutcome(MonitoringChecks.alertRules, try ChecklistFixtures.goodIndex().withoutDocuments(), .fail, "no alert for backup age, ZooKeeper")
        let noLag = try ChecklistFixtures.goodIndex().changing("PrometheusRule", "luminate-alerts") { $0.removePath("spec.groups[1].rules[1]") }
        try assertOutcome(MonitoringChecks.alertRules, noLag, .fail, "no alert for replication lag")
    }

    func testMON3RunsPromtoolOnStdinWhenInstalled() throws {
        let tools = try fakeTools(["promtool"])
        defer { try? FileManager.default.removeItem(atPath: tools) }
        let processes = RoutedProcessRunner()
        processes.on([tools + "/promtool", "check", "rules", "/dev/stdin"]) { request in
            let text = String(decoding: request.stdin ?? Data(), as: UTF8.self)
            // Groups are named after the object they came from.
            XCTAssertTrue(text.contains("PrometheusRule/luminate/luminate-alerts (good/monitoring.yaml:14): luminate-slo"), text)
            XCTAssertTrue(text.contains("good/rules/luminate-operations.rules.yml:2: luminate-operations"), text)
            return ProcessResult(status: .exited(0), stdout: Data("Checking /dev/stdin\n  SUCCESS: 6 rules found\n".utf8))
        }
        let toolbox = ToolBox(processes: processes, interrupt: Interrupt(), searchPath: [tools])
        let scope = try ChecklistFixtures.scope(tools: toolbox)
        try assertOutcome(MonitoringChecks.alertRules, nil, .pass, "validated by promtool", scope: scope)
        XCTAssertEqual(processes.received.count, 1)

        let failing = RoutedProcessRunner()
        failing.on(["check", "rules"], exit: 1, stdout: "Checking /dev/stdin\n", stderr: "  FAILED:\n/dev/stdin: group \"x\", rule 1, \"Y\": could not parse expression\n")
        let bad = try ChecklistFixtures.scope(tools: ToolBox(processes: failing, interrupt: Interrupt(), searchPath: [tools]))
        try assertOutcome(MonitoringChecks.alertRules, nil, .fail, "could not parse expression", scope: bad)
    }

    func testPromtoolsAcceptanceIsRememberedForIdenticalRulesOnly() throws {
        let tools = try fakeTools(["promtool"])
        let cache = try fakeTools([])
        defer { try? FileManager.default.removeItem(atPath: tools); try? FileManager.default.removeItem(atPath: cache) }
        let processes = RoutedProcessRunner()
        processes.on(["check", "rules", "/dev/stdin"], stdout: "  SUCCESS: 6 rules found\n")
        let toolbox = ToolBox(processes: processes, interrupt: Interrupt(), searchPath: [tools], cacheDirectory: cache)
        let scope = try ChecklistFixtures.scope(tools: toolbox)
        try assertOutcome(MonitoringChecks.alertRules, nil, .pass, "validated by promtool", scope: scope)
        try assertOutcome(MonitoringChecks.alertRules, nil, .pass, "promtool accepted these exact rules before", scope: scope)
        XCTAssertEqual(processes.received.count, 1, "the second run reused the verdict")
        let changed = try ChecklistFixtures.goodIndex().changing("PrometheusRule", "luminate-alerts") { $0.setPath("spec.groups[0].rules[0].for", "10m") }
        try assertOutcome(MonitoringChecks.alertRules, changed, .pass, "validated by promtool", scope: try ChecklistFixtures.scope(changed, tools: toolbox))
        XCTAssertEqual(processes.received.count, 2, "changed rules are checked again")
        processes.on(["check", "rules"], exit: 1, stderr: "FAILED\n")
        let broken = try ChecklistFixtures.goodIndex().changing("PrometheusRule", "luminate-alerts") { $0.setPath("spec.groups[0].rules[0].expr", "sum(") }
        for _ in 0..<2 {
            try assertOutcome(MonitoringChecks.alertRules, broken, .fail, "promtool check rules rejects", scope: try ChecklistFixtures.scope(broken, tools: toolbox))
        }
        XCTAssertEqual(processes.received.count, 4, "a rejection is never remembered")
    }

    func testMON4PagingKeysFromSecrets() throws {
        try assertOutcome(MonitoringChecks.paging, nil, .pass, "receiver pagerduty: pagerduty key from Secret alertmanager-keys")
        let keyless = try ChecklistFixtures.goodIndex().changing("AlertmanagerConfig", "luminate") { $0.removePath("spec.receivers[0].pagerdutyConfigs[0].routingKey") }
        try assertOutcome(MonitoringChecks.paging, keyless, .fail, "without a routingKey secret")
        let plainFile = try ChecklistFixtures.goodIndex().removing("AlertmanagerConfig").adding("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: alertmanager}
            data:
              alertmanager.yaml: |
                route: {receiver: pd}
                receivers:
                  - name: pd
                    pagerduty_configs:
                      - routing_key: 0123456789abcdef
            """)
        try assertOutcome(MonitoringChecks.paging, plainFile, .fail, "pagerduty routing_key written in the configuration")
        let fromFile = try ChecklistFixtures.goodIndex().removing("AlertmanagerConfig").adding("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: alertmanager}
            data:
              alertmanager.yml: |
                route: {receiver: og}
                receivers:
                  - name: og
                    opsgenie_configs:
                      - api_key_file: /etc/alertmanager/secrets/opsgenie/key
            """)
        try assertOutcome(MonitoringChecks.paging, fromFile, .pass, "opsgenie key from a file")
        try assertOutcome(MonitoringChecks.paging, try ChecklistFixtures.goodIndex().removing("AlertmanagerConfig"), .fail, "no PagerDuty or Opsgenie receiver")
    }

    func testMON5LogShipperOrWarn() throws {
        try assertOutcome(MonitoringChecks.logs, nil, .pass, "DaemonSet/luminate/fluent-bit (good/logging.yaml:1): fluent-bit")
        try assertOutcome(MonitoringChecks.logs, try ChecklistFixtures.goodIndex().removing("DaemonSet"), .warn, "no log shipper in the manifests")
    }

    // MARK: DP

    func testDP1BackupScheduleWithinTheRPO() throws {
        try assertOutcome(DataProtectionChecks.automatedBackups, nil, .pass, "'5 * * * *', at most 1h between backups")
        let twoHourly = try ChecklistFixtures.goodIndex().changing("CronJob", "clickhouse-backup") { $0.setPath("spec.schedule", "0 */2 * * *") }
        try assertOutcome(DataProtectionChecks.automatedBackups, twoHourly, .fail, "at most 2h between backups, longer than the RPO of 1h")
        let suspended = try ChecklistFixtures.goodIndex().changing("CronJob", "clickhouse-backup") { $0.setPath("spec.suspend", true) }
        try assertOutcome(DataProtectionChecks.automatedBackups, suspended, .fail, "suspended")
        let garbled = try ChecklistFixtures.goodIndex().changing("CronJob", "clickhouse-backup") { $0.setPath("spec.schedule", "every hour") }
        try assertOutcome(DataProtectionChecks.automatedBackups, garbled, .fail, "has 2 fields")
        try assertOutcome(DataProtectionChecks.automatedBackups, try ChecklistFixtures.goodIndex().removing("CronJob"), .fail, "no backup CronJob")
    }

    func testDP2RetentionStatedAndSane() throws {
        let check = DataProtectionChecks.retentionPolicy
        try assertOutcome(check, nil, .warn, "states no backup retention; the guide's defaults apply", config: true)
        let mark = SourceMark(file: "luminatectl.yaml", line: 9, column: 7)
        let stated = try ChecklistFixtures.scope(settings: ChecklistFixtures.settings(policySources: ["retention.backups": mark]))
        try assertOutcome(check, nil, .pass, "policy.retention.backups at luminatectl.yaml:9:7: hourly 24, daily 7, weekly 4, monthly 3", scope: stated, config: true)
        var policy = Policy()
        policy.retention.hourlyBackups = 12
        let short = try ChecklistFixtures.scope(settings: ChecklistFixtures.settings(policy: policy, policySources: ["retention.backups": mark]))
        try assertOutcome(check, nil, .fail, "hourly 12 < 24", scope: short, config: true)
    }

    func testDP4DisasterRecoveryPlanCoversFourScenarios() throws {
        try assertOutcome(DataProtectionChecks.recoveryPlan, nil, .pass, "runbooks/disaster-recovery.md: covers node failure, cluster failure, data-centre failure, data corruption")
        var library = try ChecklistFixtures.runbookLibrary()
        let plan = library.runbooks.firstIndex(where: \.isDisasterRecoveryPlan)!
        library.runbooks[plan].body = library.runbooks[plan].body.replacingOccurrences(of: "## Data-centre failure", with: "## Elsewhere")
        let finding = DataProtectionChecks.disasterRecovery(library)
        XCTAssertEqual(finding.outcome, .fail)
        XCTAssertEqual(finding.message, "the disaster recovery plan does not cover data-centre failure")
        library.runbooks.remove(at: plan)
        XCTAssertEqual(DataProtectionChecks.disasterRecovery(library).outcome, .fail)
    }

    // MARK: PERF

    func testPERF2AutoscalerBounds() throws {
        try assertOutcome(PerformanceChecks.autoscaling, nil, .pass, "3-12 replicas, CPU target 70 %")
        let single = try ChecklistFixtures.goodIndex().changing("HorizontalPodAutoscaler", "luminate") { $0.setPath("spec.minReplicas", 1) }
        try assertOutcome(PerformanceChecks.autoscaling, single, .fail, "minReplicas 1 < 2")
        let hot = try ChecklistFixtures.goodIndex().changing("HorizontalPodAutoscaler", "luminate") { $0.setPath("spec.metrics[0].resource.target.averageUtilization", 85) }
        try assertOutcome(PerformanceChecks.autoscaling, hot, .fail, "CPU target 85 % > 70 %")
        let flat = try ChecklistFixtures.goodIndex().changing("HorizontalPodAutoscaler", "luminate") { $0.setPath("spec.maxReplicas", 3) }
        try assertOutcome(PerformanceChecks.autoscaling, flat, .fail, "maxReplicas 3 is not above minReplicas 3")
        try assertOutcome(PerformanceChecks.autoscaling, try ChecklistFixtures.goodIndex().removing("HorizontalPodAutoscaler"), .fail, "no HorizontalPodAutoscaler targets Luminate")
    }

    func testPERF3EveryContainerHasRequestsAndLimits() throws {
        try assertOutcome(PerformanceChecks.resourceLimits, nil, .pass, "all 6 containers have CPU and memory requests and limits")
        let unlimited = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") { $0.removePath("spec.template.spec.containers[0].resources.limits.memory") }
        try assertOutcome(PerformanceChecks.resourceLimits, unlimited, .fail, "Deployment/luminate/luminate (good/luminate.yaml:1) container luminate: no memory limit")
        let inverted = try ChecklistFixtures.goodIndex().changing("StatefulSet", "zookeeper") { $0.setPath("spec.template.spec.containers[0].resources.limits.cpu", "250m") }
        try assertOutcome(PerformanceChecks.resourceLimits, inverted, .fail, "cpu limit 250m below its request 500m")
        let initial = try ChecklistFixtures.goodIndex().changing("Deployment", "luminate") { $0.removePath("spec.template.spec.initContainers[0].resources") }
        try assertOutcome(PerformanceChecks.resourceLimits, initial, .fail, "init container wait-for-clickhouse: no cpu request, no cpu limit")
    }

    // MARK: OPS

    func testOPS1RunbooksReviewedWithin180Days() throws {
        try assertOutcome(OperationsChecks.runbooksReviewed, nil, .pass, "runbooks/high-error-rate.md: reviewed by example-sre-lead on 2026-09-15")
        let later = try ChecklistFixtures.scope(settings: ChecklistFixtures.settings(now: ISO8601DateFormatter().date(from: "2027-03-20T00:00:00Z")!))
        try assertOutcome(OperationsChecks.runbooksReviewed, nil, .fail, "runbooks/high-error-rate.md: reviewed 186 days ago (2026-09-15), more than 180", scope: later)
        var library = try ChecklistFixtures.runbookLibrary()
        library.runbooks.append(Runbook.parse("---\ntitle: x\nreviewed-by: [a\n---\n", path: "runbooks/broken.md"))
        let finding = OperationsChecks.reviewedRunbooks(library, now: ChecklistFixtures.now)
        XCTAssertEqual(finding.outcome, .error)
        XCTAssertTrue(finding.evidence[0].hasPrefix("runbooks/broken.md:4:1: malformed front matter"), finding.evidence[0])
        library.runbooks.removeLast()
        library.runbooks.append(Runbook.parse("# No front matter\n", path: "runbooks/bare.md"))
        XCTAssertTrue(OperationsChecks.reviewedRunbooks(library, now: ChecklistFixtures.now).evidence.contains("runbooks/bare.md: no front matter (reviewed-by, reviewed-on)"))
    }

    func testOPS3IncidentDocumentOrWarn() throws {
        try assertOutcome(OperationsChecks.incidentManagement, nil, .pass, "docs/incident-management.md: exists")
        var settings = ChecklistFixtures.settings()
        settings.repositoryRoot = ChecklistFixtures.good
        try assertOutcome(OperationsChecks.incidentManagement, nil, .warn, "no incident management document", scope: try ChecklistFixtures.scope(settings: settings))
        settings.incidentProcess = ChecklistFixtures.root + "/docs/missing.md"
        try assertOutcome(OperationsChecks.incidentManagement, nil, .fail, "checklist.incidentProcess names docs/missing.md, which does not exist", scope: try ChecklistFixtures.scope(settings: settings))
    }

    func testOPS4ChangeRequestsRequired() throws {
        var policy = Policy()
        policy.changeRequestRequired = true
        try assertOutcome(OperationsChecks.changeManagement, nil, .pass, "policy.changeRequestRequired: true (default for production)",
                          scope: try ChecklistFixtures.scope(settings: ChecklistFixtures.settings(policy: policy)), config: true)
        try assertOutcome(OperationsChecks.changeManagement, nil, .fail, "deploys to production do not require a change-request ID", config: true)
    }
}
