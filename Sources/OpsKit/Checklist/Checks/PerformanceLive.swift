import Foundation

/// The live side of PERF-3 and PERF-4, from Prometheus at the run's time.
enum PerformanceLive {
    /// Each container's working set over its memory limit, at its highest over 7 days. cAdvisor
    /// also exports the pod's cgroup with `container=""` (and the pause container as `POD`);
    /// those have no limit of their own and are left out.
    static func memoryQuery(namespace: String) -> String {
        let ns = PromQLString.quote(namespace)
        return "max_over_time((max by (namespace, pod, container) (container_memory_working_set_bytes{namespace=\(ns),container!=\"\",container!=\"POD\"})"
            + " / on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_resource_limits{namespace=\(ns),resource=\"memory\"}))[7d:5m])"
    }

    static let queryP95 = #"histogram_quantile(0.95, sum by (le) (rate(luminate_storage_query_duration_seconds_bucket{job=~"luminate.*"}[5m])))"#
    static let writeP95 = #"histogram_quantile(0.95, sum by (le) (rate(luminate_storage_write_duration_seconds_bucket{job=~"luminate.*"}[5m])))"#

    static func memoryHeadroom(_ scope: LiveScope) throws -> Finding {
        let prometheus = try scope.prometheus()
        let threshold = scope.settings.policy.scaling.memoryAbove
        let query = memoryQuery(namespace: scope.namespace)
        let time = scope.settings.now
        guard let samples = try prometheus.instant(query: query, at: time).samples else {
            throw PrometheusError.unexpectedResultType(host: prometheus.host, query: query, expected: "vector", got: "other")
        }
        guard !samples.isEmpty else {
            return Finding(.live, .fail, "no container memory data for namespace \(scope.namespace) in the 7 days before \(ReportJSON.timestamp(time))",
                           evidence: ["query: \(query)"], fix: "check that Prometheus scrapes cAdvisor (kubelet) and kube-state-metrics")
        }
        let lines = samples.sorted { $0.value > $1.value }.map { sample in
            "\(sample.labels["pod"] ?? "?")/\(sample.labels["container"] ?? "?"): up to \(percent(sample.value)) of its memory limit"
        }
        let high = samples.filter { $0.value > threshold }
        if !high.isEmpty {
            return Finding(.live, .fail, "\(high.count) container(s) went above \(percent(threshold)) of their memory limit in the last 7 days",
                           evidence: capped(lines, 20), fix: "raise the memory limit (and request) of these containers, or find what grows their working set")
        }
        return Finding(.live, .pass, "every container stayed under \(percent(threshold)) of its memory limit for 7 days (highest \(percent(samples.map(\.value).max() ?? 0)))",
                       evidence: capped(lines, 10))
    }

    static func latencies(_ scope: LiveScope) throws -> Finding {
        let prometheus = try scope.prometheus()
        let time = scope.settings.now
        var parts: [Finding] = []
        for (name, query, target) in [("storage query p95", queryP95, PerformanceChecks.queryP95Target), ("storage write p95", writeP95, PerformanceChecks.writeP95Target)] {
            guard let value = try prometheus.instantValue(query: query, at: time), !value.isNaN else {
                parts.append(Finding(.live, .fail, "no \(name) data at \(ReportJSON.timestamp(time))", evidence: ["\(name): no data (\(query))"],
                                     fix: "check that Prometheus scrapes Luminate (MON-1) and that Luminate serves traffic"))
                continue
            }
            let line = "\(name): \(milliseconds(value)) (target < \(milliseconds(target)))"
            parts.append(Finding(.live, value < target ? .pass : .fail,
                                 value < target ? "storage latencies within target" : "\(name) is \(milliseconds(value)), not under \(milliseconds(target))",
                                 evidence: [line]))
        }
        return Finding.merge(parts, mode: .live)
    }

    static func percent(_ ratio: Double) -> String { ConfigView.formatPercent(ratio) }

    static func milliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return ms == ms.rounded() ? "\(Int(ms)) ms" : String(format: "%.1f ms", ms)
    }
}

/// PromQL string literals.
enum PromQLString {
    /// A double-quoted PromQL string with `\` and `"` escaped.
    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
