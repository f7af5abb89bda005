import Foundation

/// `deploy plan -o markdown`: the change request the operations guide asks for (what, why,
/// rollback plan, testing performed, window), written from the same pre-flight a deploy runs,
/// so the ticket says exactly what the deploy will do.
package struct ChangeRequestDocument: Sendable {
    package var changeRequest: String
    package var reason: String?
    package var preflight: DeployPreflight
    package var rollbackSteps: [String]
    package var lastDrill: DrillRecord?
    package var window: String

    static func run(_ invocation: Invocation, context: Context) throws -> ExitCode {
        let configuration = try ConfigurationLoader(context: context).load(invocation.globals)
        guard let changeRequest = invocation.value("change-request") else {
            throw UsageError("Missing required option '--change-request <id>': the document is the change request's text", commandPath: invocation.path)
        }
        let options = try DeployOptions(invocation: invocation, configuration: configuration, context: context)
        let preflight = try DeployPreflight.run(options: options, invocation: invocation, configuration: configuration, context: context)
        let kubectl = Connections(configuration: configuration, context: context).kubectl()
        let rollouts = Rollouts(kubectl: kubectl, statefulSetTimeout: configuration.policy.deploy.statefulSetTimeout)
        let drill = (try? DrillRecords.read(path: try LiveOperations.journalPath(configuration)))?.first
        let document = ChangeRequestDocument(
            changeRequest: changeRequest, reason: invocation.value("reason"), preflight: preflight,
            rollbackSteps: rollouts.restoreSteps(preflight.rollbackPoint), lastDrill: drill,
            window: preflight.gate.window)
        if invocation.json {
            context.console.line(document.json.rendered(pretty: true))
        } else {
            context.console.write(document.markdown)
        }
        return preflight.refusal == nil ? .success : .failure
    }

    package var markdown: String {
        let p = preflight
        var out = "# Change request \(changeRequest): deploy \(p.set.source) to \(p.environment)\n\n"
        out += "## What changes\n\n"
        out += "- Change size: **\(p.gate.size.rawValue)**\n"
        for change in p.imageChanges {
            out += "- `\(change.workload)` container `\(change.container)`: `\(change.fromText ?? "(new)")` → `\(change.toText)`\n"
        }
        if p.diff.isEmpty {
            out += "- Nothing changes in the cluster: it already matches the manifests.\n"
        } else {
            out += "\n| object | change |\n|---|---|\n"
            for change in p.diff.changes {
                out += "| `\(change.identity)` | \(change.created ? "new (\(change.added) lines)" : "+\(change.added) / -\(change.removed) lines") |\n"
            }
        }
        out += "\n## Why\n\n\(reason ?? "_(not given: pass --reason)_")\n\n"
        out += "## Rollback plan\n\n"
        out += "Rolled back automatically when a criterion holds during the bake (error rate above \(Self.percent(p.criteria.errorRateAbove)) for \(DurationParser.format(p.criteria.errorRateFor)), p95 latency above \(DurationParser.format(p.criteria.p95LatencyAbove)) for \(DurationParser.format(p.criteria.p95LatencyFor)), data corruption, a security finding). It returns to:\n\n"
        out += (p.rollbackPoint.lines.isEmpty ? ["nothing recorded: every object is new"] : p.rollbackPoint.lines).map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        out += "By hand: `luminatectl --env \(p.environment) rollback --reason '...'` (the last deploy's recorded point), which runs:\n\n"
        out += rollbackSteps.map { "- `\($0)`" }.joined(separator: "\n") + (rollbackSteps.isEmpty ? "- nothing\n" : "\n")
        out += "\n## Testing performed\n\n"
        out += "- Checklist, static checks over the manifests to apply: \(p.checklist.passed ? "pass" : "**FAIL**") (\(p.checklist.report.summary.filter { $0.1 > 0 }.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")))\n"
        for failure in p.checklist.failures { out += "  - \(failure.check.id) \(failure.check.title): \(failure.message)\n" }
        if let drill = lastDrill {
            out += "- Last restore drill: \(drill.verdict) on \(JournalTime.formatWholeSeconds(drill.finishedAt)), backup \(drill.backup)"
                + (drill.projectedSeconds.map { ", full restore projected at \(DurationParser.format($0.rounded()))" } ?? "") + "\n"
        } else {
            out += "- Last restore drill: none journaled in this environment (`luminatectl restore drill`)\n"
        }
        out += "- \(p.rpo.line)\n"
        out += "\n## Window\n\n\(window)\n"
        if let refusal = p.refusal {
            out += "\n> **Refused as it stands:** \(refusal.description)\(refusal.hint.map { " (\($0))" } ?? "")\n"
        }
        return out
    }

    package var json: JSONValue {
        .object([
            ("changeRequest", .string(changeRequest)),
            ("reason", reason.map(JSONValue.string) ?? .null),
            ("preflight", DeployText.preflightJSON(preflight, steps: [])),
            ("rollbackSteps", .array(rollbackSteps.map { .string($0) })),
            ("lastDrill", lastDrill.map { .object([("operationID", .string($0.operationID)), ("verdict", .string($0.verdict)),
                                                   ("finishedAt", .string(JournalTime.format($0.finishedAt)))]) } ?? .null),
            ("markdown", .string(markdown)),
        ])
    }

    static func percent(_ ratio: Double) -> String { String(format: "%g %%", ratio * 100) }
}
