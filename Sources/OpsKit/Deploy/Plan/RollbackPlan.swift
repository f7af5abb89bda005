import Foundation

/// `rollback`: a manual rollback through the deploy's own path. It returns to the rollback
/// point a deploy journaled (the latest, or `--deploy ID`), or with `--to-revision N` rolls the
/// Deployments back to that revision; waits for the rollout; prints the decision report with
/// the criterion "manual".
package struct RollbackPlan: OperationPlan {
    package var point: RollbackPoint
    /// The deploy whose point this is; nil for `--to-revision` without a journaled deploy.
    package var deploy: String?
    package var toRevision: Int?
    package var rollouts: Rollouts
    package var json: Bool

    static let options = [
        OptionSpec("deploy", .value(placeholder: "operation-id"), help: "Return to the rollback point of this deploy.", default: "the latest deploy in the journal"),
        OptionSpec("to-revision", .value(placeholder: "n"), help: "Roll the Deployments back to this revision (kubectl rollout history) instead."),
        OptionSpec("workload", .value(placeholder: "deployment/name"), help: "With --to-revision and no journaled deploy: the Deployment.", default: "deployment/luminate"),
    ]

    static func build(_ invocation: Invocation, _ configuration: Configuration, _ context: Context) throws -> any OperationPlan {
        let toRevision = try invocation.integer("to-revision", atLeast: 1)
        var kubectl = Connections(configuration: configuration, context: context).kubectl()
        kubectl.processTimeout = 120
        let rollouts = Rollouts(kubectl: kubectl, statefulSetTimeout: configuration.policy.deploy.statefulSetTimeout)
        let found = try RollbackPoints.find(path: try LiveOperations.journalPath(configuration), operation: invocation.value("deploy"))
        if let found {
            var point = found.point
            if toRevision != nil {
                // A revision applies to Deployments; the recorded objects stay as the deploy left them.
                point.snapshots = []
            }
            return RollbackPlan(point: point, deploy: found.operationID, toRevision: toRevision, rollouts: rollouts, json: invocation.json)
        }
        if let id = invocation.value("deploy") {
            throw ValidationError("no deploy \(id) with a rollback point in the journal of environment \(configuration.environmentName.value)",
                                  hint: "luminatectl journal list --kind deploy lists them")
        }
        guard let toRevision else {
            throw ValidationError(
                "no deploy with a rollback point in the journal of environment \(configuration.environmentName.value)",
                hint: "give --to-revision N (kubectl rollout history deployment/luminate lists them), with --workload for another Deployment")
        }
        let workload = invocation.value("workload") ?? "deployment/luminate"
        let parts = workload.split(separator: "/")
        guard parts.count == 2, ["deployment", "deploy", "deployments"].contains(parts[0].lowercased()), KubernetesName.isValid(String(parts[1])) else {
            throw UsageError("--workload must be deployment/<name>, not '\(workload)'", commandPath: invocation.path)
        }
        let point = RollbackPoint(deployments: [RollbackPoint.Deployment(
            namespace: configuration.namespace.value, name: String(parts[1]), revision: toRevision, template: .null, images: [])])
        return RollbackPlan(point: point, deploy: nil, toRevision: toRevision, rollouts: rollouts, json: invocation.json)
    }

    package var spec: OperationSpec {
        OperationSpec(kind: "rollback", targets: point.deployments.map { "Deployment/\($0.namespace)/\($0.name)" } + point.snapshots.map(\.identity),
                      inputs: .object([
                          ("deploy", deploy.map(JSONValue.string) ?? .null),
                          ("toRevision", toRevision.map { .number(Double($0)) } ?? .null),
                          ("rollbackPoint", .array(point.lines.map { .string($0) })),
                      ]))
    }

    package func describe() -> String {
        var lines = ["roll back " + (deploy.map { "deploy \($0)" } ?? "to revision \(toRevision ?? 0)") + ", returning to:"]
        lines += point.lines.map { "  \($0)" }
        lines.append("steps:")
        lines += rollouts.restoreSteps(point, toRevision: toRevision).map { "  \($0)" }
        lines.append("  then wait for each rollout (kubectl rollout status)")
        return lines.map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    package func describeJSON() -> JSONValue {
        .object([
            ("deploy", deploy.map(JSONValue.string) ?? .null),
            ("toRevision", toRevision.map { .number(Double($0)) } ?? .null),
            ("rollbackPoint", .array(point.lines.map { .string($0) })),
            ("steps", .array(rollouts.restoreSteps(point, toRevision: toRevision).map { .string($0) })),
        ])
    }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        let clock = context.clock
        let reason = session.spec.reason ?? "no reason given"
        var report = DecisionReport(
            trigger: BakeTrigger(criterion: "manual", summary: "manual rollback: \(reason)", satisfiedAt: clock.now()),
            rollbackPoint: point, rollbackIssuedAt: clock.now(), actions: [], rolledBack: false,
            rollbackCommand: "luminatectl --env \(session.configuration.environmentName.value) rollback" + (deploy.map { " --deploy \($0)" } ?? ""))
        let done = try rollouts.rollBack(to: point, toRevision: toRevision, session: session)
        (report.actions, report.rolledBack) = (done.actions, done.rolledBack)
        report.rollbackIssuedAt = done.issuedAt ?? report.rollbackIssuedAt
        session.record("decision", report.json)
        if json {
            context.console.line(JSONValue.object([("operationID", .string(session.id)), ("decision", report.json)]).rendered(pretty: true))
        } else {
            context.console.write(report.text)
        }
        return report.rolledBack ? .success : .failure
    }
}
