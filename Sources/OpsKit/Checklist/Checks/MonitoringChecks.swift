import Foundation

/// Monitoring (MON-1 ... MON-5): scraping, dashboards, alert rules, paging, logs.
enum MonitoringChecks {
    static let all = [scraping, dashboards, alertRules, paging, logs]

    static let scraping = ChecklistCheck(
        "MON-1", "Prometheus scraping Luminate", section: .monitoring,
        explanation: CheckExplanation(
            what: "Prometheus scrapes every Luminate pod's metrics.",
            why: "Every alert, dashboard, rollback criterion and scaling decision in the guide reads Luminate's metrics; a target that is not scraped is invisible until users notice.",
            how: "Static: a ServiceMonitor selecting a Luminate Service, a PodMonitor selecting Luminate's pods, or prometheus.io/scrape: \"true\" on Luminate's pod template. Live: up{job=~\"luminate.*\"} at the time of the run has at least one target and every target is 1.",
            fix: "Add a ServiceMonitor for Luminate's Service (or scrape annotations); for a target that is down, check the pod, its metrics port and the network policy between Prometheus and Luminate."),
        staticRule: { scope in try scrapeConfiguration(scope.manifests()) },
        liveProbe: { scope in try MonitoringLive.targetsUp(scope) })

    static let dashboards = ChecklistCheck(
        "MON-2", "Grafana dashboards imported", section: .monitoring,
        explanation: CheckExplanation(
            what: "Grafana has Luminate's dashboards, with the key metrics: request rate and errors, request latency, storage write and query latency.",
            why: "On-call engineers diagnose from these dashboards; a dashboard missing in the incident is minutes lost.",
            how: "Static: ConfigMaps labelled grafana_dashboard (or GrafanaDashboard objects, or dashboard JSON files) hold valid dashboard JSON whose queries use luminate_http_requests_total, luminate_http_request_duration_seconds, luminate_storage_write_duration_seconds and luminate_storage_query_duration_seconds. Attest: that they are imported and show data.",
            fix: "Ship the dashboards as ConfigMaps labelled grafana_dashboard: \"1\" with the panels for the missing metrics, then open them in Grafana and attest MON-2."),
        staticRule: { scope in try Dashboards.evaluate(scope.manifests()) },
        attestation: AttestationRule("the dashboards are imported in Grafana and show data"))

    static let alertRules = ChecklistCheck(
        "MON-3", "Alerting rules configured", section: .monitoring,
        explanation: CheckExplanation(
            what: "Prometheus has alerting rules for the guide's conditions: error rate, latency, storage, backup age, replication lag and ZooKeeper.",
            why: "Without these alerts a breach of the rollback criteria, a full disk, a stale backup or lagging replicas are found by users, not by the pager.",
            how: "Static: alerting rules in PrometheusRule objects, plain rules files and rules files inside ConfigMaps cover the six topics (by alert name and expression), and `promtool check rules` accepts them when promtool is installed (skipped otherwise, with the reason). Live: Prometheus's /api/v1/rules has alerting rules for the six topics, none in error.",
            fix: "Add the missing alerts (a PrometheusRule, or the rules file Prometheus loads), fix what promtool rejects, and reload Prometheus."),
        staticRule: { scope in try AlertRules.evaluate(scope.manifests(), tools: scope.tools) },
        liveProbe: { scope in try MonitoringLive.loadedRules(scope) })

    static let paging = ChecklistCheck(
        "MON-4", "PagerDuty/Opsgenie integration set up", section: .monitoring,
        explanation: CheckExplanation(
            what: "Alertmanager pages on-call through PagerDuty or Opsgenie, with the integration keys kept in Secrets.",
            why: "An alert nobody is paged for is a log line. A key written into the configuration can be used by anyone who reads the repository to page (or silence) on-call.",
            how: "Static: an AlertmanagerConfig with pagerdutyConfigs/opsgenieConfigs whose keys are Secret selectors, or an alertmanager.yaml (plain, or in a ConfigMap or Secret) whose pagerduty_configs/opsgenie_configs use routing_key_file/api_key_file; keys written in clear fail. Attest: a test page reached on-call.",
            fix: "Add a PagerDuty (or Opsgenie) receiver whose key comes from a Secret, route critical alerts to it, send a test alert and attest MON-4."),
        staticRule: { scope in try AlertReceivers.evaluate(scope.manifests()) },
        attestation: AttestationRule("a test alert paged on-call through PagerDuty or Opsgenie"))

    static let logs = ChecklistCheck(
        "MON-5", "Log aggregation configured", section: .monitoring,
        explanation: CheckExplanation(
            what: "Luminate's and ClickHouse's logs are shipped to a central log store.",
            why: "Pods' logs vanish with the pods; an incident's evidence must outlive a rollout or a node failure.",
            how: "Static: a log shipper (Fluent Bit, Fluentd, Vector, Promtail, Filebeat, Grafana Agent/Alloy, OpenTelemetry Collector, Logstash) runs as a DaemonSet or Deployment in the manifests. Or attest: logs are aggregated by a platform service outside these manifests. Either suffices.",
            fix: "Deploy a log shipper DaemonSet with the manifests, or attest MON-5 naming the platform service that collects the logs."),
        combination: .any,
        staticRule: { scope in try logShipper(scope.manifests()) },
        attestation: AttestationRule("Luminate's and ClickHouse's logs reach a central log store"))

    // MARK: - Static rules

    static func scrapeConfiguration(_ index: ManifestIndex) -> Finding {
        guard !index.luminateWorkloads.isEmpty else {
            return Finding(.static, .fail, "no Luminate workload in the manifests (nothing labelled app.kubernetes.io/name: luminate)")
        }
        var evidence: [String] = []
        let services = index.luminateServices
        for monitor in index.objects("ServiceMonitor") {
            let selector = LabelSelector(selector: monitor[path: "spec.selector"])
            let selected = services.filter { selector.matches($0.labels) }
            if !selected.isEmpty { evidence.append("\(monitor.reference): scrapes \(selected.map(\.identity).joined(separator: ", "))") }
        }
        let pods = index.luminatePodLabels
        for monitor in index.objects("PodMonitor") {
            let selector = LabelSelector(selector: monitor[path: "spec.selector"])
            if pods.contains(where: { selector.matches($0) }) { evidence.append("\(monitor.reference): scrapes Luminate's pods") }
        }
        for workload in index.luminateWorkloads where workload.podAnnotations["prometheus.io/scrape"] == "true" {
            evidence.append("\(workload.reference): prometheus.io/scrape: \"true\"")
        }
        if evidence.isEmpty {
            return Finding(.static, .fail, "nothing makes Prometheus scrape Luminate: no ServiceMonitor or PodMonitor selects it, no scrape annotation")
        }
        return Finding(.static, .pass, "Prometheus is told to scrape Luminate", evidence: evidence)
    }

    /// Names by which log shippers are known, in names, labels and images.
    static let shippers = ["fluent-bit", "fluentbit", "fluentd", "vector", "promtail", "filebeat", "grafana-agent", "alloy",
                           "otel-collector", "opentelemetry-collector", "logstash"]

    static func logShipper(_ index: ManifestIndex) -> Finding {
        var evidence: [String] = []
        for workload in index.workloads where ["DaemonSet", "Deployment", "StatefulSet"].contains(workload.object.kind) {
            let names = [workload.object.name, workload.object.labels["app.kubernetes.io/name"] ?? "", workload.object.labels["app"] ?? ""]
                + workload.containers.compactMap { $0.json["image"]?.string }
            if let shipper = shippers.first(where: { token in names.contains { $0.lowercased().contains(token) } }) {
                evidence.append("\(workload.reference): \(shipper)")
            }
        }
        if evidence.isEmpty {
            return Finding(.static, .warn, "no log shipper in the manifests (Fluent Bit, Vector, Promtail, ...); nothing here shows logs are aggregated",
                           fix: "deploy a log shipper with the manifests, or attest MON-5 naming the service that collects the logs")
        }
        return Finding(.static, .pass, "a log shipper runs with the manifests", evidence: evidence)
    }
}
