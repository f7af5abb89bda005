import Foundation

/// Performance (PERF-1 ... PERF-4): load testing, autoscaling, resource limits, query latency.
enum PerformanceChecks {
    static let all = [loadTesting, autoscaling, resourceLimits, queryPerformance]

    /// The guide's load-test targets.
    static let writeP95Target = 0.100
    static let queryP95Target = 0.200
    static let throughputTarget = 100_000.0
    /// The guide's autoscaling bounds.
    static let minimumReplicas = 2
    static let cpuTargetCeiling = 70

    static let loadTesting = ChecklistCheck(
        "PERF-1", "Load testing completed in staging", section: .performance,
        explanation: CheckExplanation(
            what: "A load test in staging showed write p95 under 100 ms, query p95 under 200 ms and at least 100,000 metrics per second per pod.",
            why: "The capacity plan and the scaling triggers rest on these figures; without a load test, production is the test.",
            how: "Attest, with figures: the attestation of PERF-1 carries figures writeP95 (e.g. 85ms), queryP95 (e.g. 160ms) and metricsPerSecondPerPod (e.g. 120000), each checked against the target.",
            fix: "Run the load test in staging, and attest PERF-1 with the measured figures and a link to the report; if a target is missed, tune or scale before production."),
        attestation: AttestationRule("a staging load test met the targets (write p95 < 100 ms, query p95 < 200 ms, >= 100K metrics/s per pod)",
                                     figures: loadTestFigures))

    static let autoscaling = ChecklistCheck(
        "PERF-2", "Auto-scaling tested", section: .performance,
        explanation: CheckExplanation(
            what: "A HorizontalPodAutoscaler scales Luminate between at least 2 replicas and more, on CPU at 70 % or less, and scaling was exercised.",
            why: "Two replicas survive a pod failure; a CPU target at or under 70 % (the guide's scaling trigger) leaves headroom while new pods start.",
            how: "Static: every HPA targeting a Luminate Deployment or StatefulSet has minReplicas >= 2, maxReplicas > minReplicas and a CPU utilisation target <= 70 %, and at least one exists. Attest: scaling out and in was exercised under load in staging.",
            fix: "Add (or fix) the HPA: minReplicas: 2, maxReplicas above it, a Resource metric cpu with averageUtilization: 70; then exercise it under load and attest PERF-2."),
        staticRule: { scope in try horizontalAutoscalers(scope.manifests()) },
        attestation: AttestationRule("Luminate scaled out and back in under load in staging"))

    static let resourceLimits = ChecklistCheck(
        "PERF-3", "Resource limits tuned", section: .performance,
        explanation: CheckExplanation(
            what: "Every container declares CPU and memory requests and limits (limit >= request), and no container ran above 80 % of its memory limit over the last 7 days.",
            why: "Requests let the scheduler place pods where they fit; limits stop one component from starving the others; a container living near its memory limit is one spike away from being OOM-killed.",
            how: "Static: every container and init container of every workload has requests and limits for cpu and memory, each limit at least its request. Live: max_over_time over 7 days of each container's working set divided by its memory limit, in the namespace, stays under policy.scaling.memory (80 %).",
            fix: "Set requests and limits on every container; raise the memory limit (or fix the leak) of any container above 80 %."),
        staticRule: { scope in try containerResources(scope.manifests()) },
        liveProbe: { scope in try PerformanceLive.memoryHeadroom(scope) })

    static let queryPerformance = ChecklistCheck(
        "PERF-4", "Query performance validated", section: .performance,
        explanation: CheckExplanation(
            what: "In production traffic, storage query p95 is under 200 ms and storage write p95 under 100 ms.",
            why: "These are the latencies the load test promised; a drift upward is the first sign of a missing index, a hot shard or too few replicas.",
            how: "Live: histogram_quantile(0.95) over 5 minutes of luminate_storage_query_duration_seconds and luminate_storage_write_duration_seconds, evaluated at the time of the run; no data is a failure (nothing proves the latency).",
            fix: "Find the slow queries (system.query_log), check merges and replication lag, and scale ClickHouse or Luminate before the latency reaches the rollback criteria."),
        liveProbe: { scope in try PerformanceLive.latencies(scope) })

    // MARK: - Rules

    /// Checks PERF-1's figures; nil when they meet the targets.
    static func loadTestFigures(_ attestation: Attestation) -> Finding? {
        var problems: [String] = []
        func latency(_ key: String, target: Double) {
            guard let text = attestation.figures[key] else {
                problems.append("no \(key) figure (target < \(DurationParser.format(target)))")
                return
            }
            guard text.rangeOfCharacter(from: .letters) != nil, let seconds = DurationParser.seconds(text) else {
                problems.append("\(key) '\(text)' is not a latency with a unit, like 85ms")
                return
            }
            if seconds >= target { problems.append("\(key) \(text) is not under \(DurationParser.format(target))") }
        }
        latency("writeP95", target: writeP95Target)
        latency("queryP95", target: queryP95Target)
        if let text = attestation.figures["metricsPerSecondPerPod"] {
            if let rate = throughput(text) {
                if rate < throughputTarget { problems.append("metricsPerSecondPerPod \(text) is under 100K") }
            } else {
                problems.append("metricsPerSecondPerPod '\(text)' is not a number like 120000 or 120K")
            }
        } else {
            problems.append("no metricsPerSecondPerPod figure (target >= 100K)")
        }
        guard !problems.isEmpty else { return nil }
        return Finding(.attest, .fail, "the load test attestation does not show the targets met: \(problems.joined(separator: "; "))",
                       fix: "attest PERF-1 with figures writeP95, queryP95 and metricsPerSecondPerPod from a load test that met the targets")
    }

    /// `120000`, `120K`, `1.2M`.
    static func throughput(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "").replacingOccurrences(of: ",", with: "")
        let factors: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6]
        if let last = trimmed.last, let factor = factors[last], let value = Double(trimmed.dropLast()) { return value * factor }
        return Double(trimmed)
    }

    static func horizontalAutoscalers(_ index: ManifestIndex) -> Finding {
        let targets = Set(index.luminateWorkloads.filter { ["Deployment", "StatefulSet"].contains($0.object.kind) }
            .map { "\($0.object.namespace ?? "")/\($0.object.kind)/\($0.object.name)" })
        guard !targets.isEmpty else {
            return Finding(.static, .fail, "no Luminate Deployment or StatefulSet in the manifests")
        }
        let hpas = index.objects("HorizontalPodAutoscaler").filter { hpa in
            let kind = hpa[path: "spec.scaleTargetRef.kind"]?.string ?? ""
            let name = hpa[path: "spec.scaleTargetRef.name"]?.string ?? ""
            return targets.contains("\(hpa.namespace ?? "")/\(kind)/\(name)")
        }
        guard !hpas.isEmpty else {
            return Finding(.static, .fail, "no HorizontalPodAutoscaler targets Luminate")
        }
        var problems: [String] = []
        var good: [String] = []
        for hpa in hpas {
            let minimum = hpa[path: "spec.minReplicas"]?.int ?? 1
            let maximum = hpa[path: "spec.maxReplicas"]?.int ?? 0
            let cpu = cpuTarget(hpa)
            var issues: [String] = []
            if minimum < minimumReplicas { issues.append("minReplicas \(minimum) < \(minimumReplicas)") }
            if maximum <= minimum { issues.append("maxReplicas \(maximum) is not above minReplicas \(minimum)") }
            if let cpu {
                if cpu > cpuTargetCeiling { issues.append("CPU target \(cpu) % > \(cpuTargetCeiling) %") }
            } else {
                issues.append("no CPU utilisation target")
            }
            let summary = "\(hpa.reference): \(minimum)-\(maximum) replicas, CPU target \(cpu.map { "\($0) %" } ?? "none")"
            if issues.isEmpty { good.append(summary) } else { problems.append(summary + ": " + issues.joined(separator: ", ")) }
        }
        if !problems.isEmpty {
            return Finding(.static, .fail, "Luminate's autoscaling does not meet the guide", evidence: problems + good)
        }
        return Finding(.static, .pass, "Luminate scales on CPU (<= \(cpuTargetCeiling) %) from \(minimumReplicas) replicas", evidence: good)
    }

    /// The CPU utilisation target of an HPA (autoscaling/v2 metrics, or v1's field).
    static func cpuTarget(_ hpa: ManifestObject) -> Int? {
        if let v1 = hpa[path: "spec.targetCPUUtilizationPercentage"]?.int { return v1 }
        for metric in hpa[path: "spec.metrics"]?.array ?? [] where metric["type"]?.string == "Resource" {
            guard metric[path: "resource.name"]?.string == "cpu" else { continue }
            if let value = metric[path: "resource.target.averageUtilization"]?.int ?? metric[path: "resource.targetAverageUtilization"]?.int {
                return value
            }
        }
        return nil
    }

    static func containerResources(_ index: ManifestIndex) -> Finding {
        var problems: [String] = []
        var containers = 0
        for workload in index.workloads {
            for container in workload.containers {
                containers += 1
                var issues: [String] = []
                for resource in ["cpu", "memory"] {
                    let request = container.quantity("requests", resource)
                    let limit = container.quantity("limits", resource)
                    if request == nil { issues.append("no \(resource) request") }
                    if limit == nil { issues.append("no \(resource) limit") }
                    if let request, let limit, limit.value < request.value {
                        issues.append("\(resource) limit \(limit) below its request \(request)")
                    }
                }
                if !issues.isEmpty {
                    problems.append("\(workload.reference) \(container.isInit ? "init container" : "container") \(container.name): \(issues.joined(separator: ", "))")
                }
            }
        }
        guard containers > 0 else {
            return Finding(.static, .fail, "no containers in the manifests")
        }
        if !problems.isEmpty {
            return Finding(.static, .fail, "\(problems.count) of \(containers) containers lack requests or limits", evidence: capped(problems))
        }
        return Finding(.static, .pass, "all \(containers) containers have CPU and memory requests and limits")
    }
}
