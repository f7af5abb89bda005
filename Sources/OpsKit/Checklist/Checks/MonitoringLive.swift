import Foundation

/// The live side of MON-1 and MON-3: the targets Prometheus scrapes and the rules it loaded.
enum MonitoringLive {
    static let upQuery = #"up{job=~"luminate.*"}"#

    static func targetsUp(_ scope: LiveScope) throws -> Finding {
        let prometheus = try scope.prometheus()
        let time = scope.settings.now
        let result = try prometheus.instant(query: upQuery, at: time)
        guard let samples = result.samples else {
            throw PrometheusError.unexpectedResultType(host: prometheus.host, query: upQuery, expected: "vector", got: result.resultType)
        }
        let at = "at \(ReportJSON.timestamp(time))"
        guard !samples.isEmpty else {
            return Finding(.live, .fail, "Prometheus has no Luminate target (\(upQuery) is empty \(at))",
                           fix: "check the ServiceMonitor's selector and namespace, and Prometheus' serviceMonitorSelector")
        }
        let lines = samples.sorted { ($0.labels["instance"] ?? "") < ($1.labels["instance"] ?? "") }.map { sample in
            "\(sample.labels["job"] ?? "?")/\(sample.labels["instance"] ?? sample.labels["pod"] ?? "?"): up \(sample.value == 1 ? "1" : "0")"
        }
        let down = samples.filter { $0.value != 1 }
        if !down.isEmpty {
            return Finding(.live, .fail, "\(down.count) of \(samples.count) Luminate targets are down \(at)", evidence: lines,
                           fix: "check the pods that are down (kubectl get pods), their metrics port, and the network policy from Prometheus")
        }
        return Finding(.live, .pass, "\(samples.count) Luminate targets up \(at)", evidence: lines)
    }

    static func loadedRules(_ scope: LiveScope) throws -> Finding {
        let prometheus = try scope.prometheus()
        let groups = try prometheus.rules()
        let alerts = groups.flatMap(\.rules).filter { $0.kind == .alerting }
        let broken = alerts.filter { $0.health == "err" }.map { "\($0.name): \($0.lastError ?? "evaluation error")" }
        let coverage = AlertRules.coverage(alerts.map { ($0.name, $0.query) })
        let missing = coverage.filter { $0.1.isEmpty }.map(\.0.rawValue)
        var evidence = coverage.filter { !$0.1.isEmpty }.map { "\($0.0.rawValue): \($0.1.prefix(5).joined(separator: ", "))" }
        evidence.append("\(alerts.count) alerting rule(s) loaded in \(groups.count) group(s) on \(prometheus.host)")
        if !broken.isEmpty {
            return Finding(.live, .fail, "\(broken.count) loaded alerting rule(s) fail to evaluate", evidence: broken + evidence)
        }
        if !missing.isEmpty {
            return Finding(.live, .fail, "Prometheus has no alert for \(missing.joined(separator: ", "))", evidence: evidence,
                           fix: "load the alerting rules (PrometheusRule, or rule_files) and reload Prometheus")
        }
        return Finding(.live, .pass, "Prometheus has alerts for all six topics", evidence: evidence)
    }
}
