import Foundation

/// The deploy's pre-flight and its steps in words and as JSON, for the start of a deploy and for
/// `--dry-run`.
enum DeployText {
    static func preflight(_ p: DeployPreflight, options: DeployOptions) -> String {
        var lines = ["Deploy \(p.set.source) to environment \(p.environment) (namespace \(p.namespace))"]
        if !options.images.isEmpty {
            lines += p.set.overrides.map { "  --image \($0.override.image): \($0.containers.joined(separator: ", "))" }
        }
        lines.append("  change: \(p.gate.size.rawValue)" + (p.imageChanges.isEmpty ? " (no image changes)" : ""))
        lines += p.gate.lines.map { "  \($0)" }
        lines.append("  \(p.checklist.line)")
        lines.append("  \(p.rpo.line)")
        if p.diff.isEmpty {
            lines.append("  diff: nothing changes")
        } else {
            lines.append("  diff: \(p.diff.changes.count == 1 ? "1 object changes" : "\(p.diff.changes.count) objects change")")
            lines += p.diff.changes.map { "    \($0.summary)" }
        }
        lines.append("  rollback point:")
        lines += (p.rollbackPoint.lines.isEmpty ? ["nothing to return to"] : p.rollbackPoint.lines).map { "    \($0)" }
        if let refusal = p.refusal {
            lines.append("  REFUSED: \(refusal.description)")
            if let hint = refusal.hint { lines.append("  hint: \(hint)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func stepLines(_ plan: DeployPlan) -> [String] {
        let p = plan.preflight
        let kubectl = plan.rollouts.kubectl
        var steps = ["take the operations lock"]
        if p.rpo.verdict == .backupFirst { steps.append("take a backup first (backup create), under the same lock") }
        steps.append("record the rollback point in the journal (revisions; recorded objects)")
        guard !p.diff.isEmpty else { return steps + ["nothing else: the cluster already matches"] }
        steps.append(kubectl.inNamespace(nil).applyPlan(manifest: p.set.applyDocument).description + " (\(p.set.objects.count) objects)")
        for workload in plan.rollouts.workloads(of: p.set, changes: p.diff) {
            steps.append(kubectl.inNamespace(workload.namespace).rolloutStatusPlan(workload.kind.lowercased(), workload.name, timeout: workload.timeout).description)
        }
        let criteria = plan.options
        steps.append("watch for \(DurationParser.format(criteria.bake)), evaluating every \(DurationParser.format(criteria.interval)): error rate, p95 latency (Prometheus, explicit times), corruption probes (ClickHouse), security check")
        if criteria.autoRollback {
            steps.append("on a trigger: " + (plan.rollouts.restoreSteps(p.rollbackPoint).joined(separator: "; ").nonEmptyOr("nothing recorded to return to")) + ", then wait for that rollout")
        } else {
            steps.append("on a trigger: report and exit 1 (--no-auto-rollback)")
        }
        return steps
    }

    static func steps(_ plan: DeployPlan) -> String {
        "Steps:\n" + stepLines(plan).map { "  \($0)" }.joined(separator: "\n") + "\n"
    }

    static func preflightJSON(_ p: DeployPreflight, steps: [String]) -> JSONValue {
        var object: [(String, JSONValue)] = [
            ("manifests", .string(p.set.source)),
            ("environment", .string(p.environment)),
            ("change", .string(p.gate.size.rawValue)),
            ("imageChanges", .array(p.imageChanges.map { .object([
                ("workload", .string($0.workload)), ("container", .string($0.container)),
                ("from", $0.fromText.map(JSONValue.string) ?? .null), ("to", .string($0.toText)),
            ]) })),
            ("gate", p.gate.json),
            ("checklist", p.checklist.json),
            ("rpoGuard", p.rpo.json),
            ("diff", .array(p.diff.changes.map { .object([
                ("object", .string($0.identity)), ("created", .bool($0.created)),
                ("added", .number(Double($0.added))), ("removed", .number(Double($0.removed))),
            ]) })),
            ("rollbackPoint", .array(p.rollbackPoint.lines.map { .string($0) })),
            ("refused", p.refusal.map { .string($0.description) } ?? .null),
        ]
        if !steps.isEmpty { object.append(("steps", .array(steps.map { .string($0) }))) }
        return .object(object)
    }
}

extension String {
    func nonEmptyOr(_ fallback: String) -> String { isEmpty ? fallback : self }
}
