import Foundation

/// `deploy`: the pre-flight already read (gate, checklist, RPO guard, diff), then under the lock:
/// record the rollback point, apply, wait for the rollouts, watch the criteria for the bake
/// time, and roll back when one triggers. Exit 0 for a change that stayed healthy (or changed
/// nothing), 1 for one that was rolled back or could not be applied.
package struct DeployPlan: OperationPlan {
    package var options: DeployOptions
    package var preflight: DeployPreflight
    package var rollouts: Rollouts
    /// Builds the criteria evaluator for the images deployed (live: Prometheus, ClickHouse, the scanner).
    package var makeEvaluator: @Sendable (_ images: [String], _ context: Context) throws -> any BakeEvaluating
    /// Builds the `backup create` plan that `--backup-first` runs under this deploy's lock.
    package var makeBackup: (@Sendable () throws -> any OperationPlan)?
    package var json: Bool

    package var spec: OperationSpec {
        let targets = preflight.diff.changes.filter { ["Deployment", "StatefulSet"].contains($0.kind) }.map(\.identity)
        return OperationSpec(kind: "deploy", targets: targets.isEmpty ? preflight.diff.changes.map(\.identity) : targets, inputs: .object([
            ("manifests", .string(options.manifestsDisplay)),
            ("images", .array(options.images.map { .string(($0.container.map { "\($0)=" } ?? "") + $0.image) })),
            ("changeRequest", options.changeRequest.map(JSONValue.string) ?? .null),
            ("emergency", options.emergency.map { .object([("approvedBy", .string($0.approvedBy)), ("reason", .string($0.reason))]) } ?? .null),
            ("change", .string(preflight.gate.size.rawValue)),
            ("bakeSeconds", .number(options.bake)),
            ("intervalSeconds", .number(options.interval)),
            ("autoRollback", .bool(options.autoRollback)),
            ("rpoGuard", preflight.rpo.json),
        ]), reason: options.reason)
    }

    package func describe() -> String {
        DeployText.preflight(preflight, options: options) + DeployText.steps(self)
    }

    package func describeJSON() -> JSONValue {
        DeployText.preflightJSON(preflight, steps: DeployText.stepLines(self))
    }

    package func execute(in session: OperationSession) throws -> ExitCode {
        let context = session.context
        let console = context.console
        let clock = context.clock
        let command = rollbackCommand(session)
        if !json { console.write(DeployText.preflight(preflight, options: options)) }

        try session.step("policy gate") {
            session.record("gate", preflight.gate.json)
            session.record("checklist", preflight.checklist.json)
            session.record("rpoGuard", preflight.rpo.json)
        }
        if preflight.rpo.verdict == .backupFirst, let makeBackup {
            console.diagnostic("deploy: taking a backup first (--backup-first), under this deploy's lock")
            guard try makeBackup().execute(in: session) == .success else {
                throw DeployRefused("the backup taken first (--backup-first) did not complete")
            }
        }
        let point = try session.step("record the rollback point") { () throws -> RollbackPoint in
            let point = try RollbackPoint.read(changes: preflight.diff, set: preflight.set, kubectl: rollouts.kubectl)
            session.record("rollbackPoint", point.json)
            return point
        }
        guard !preflight.diff.isEmpty else {
            return finish(.unchanged, session: session, report: nil)
        }

        let progress = console.progress("deploy", clock: clock, logEvery: 0)
        let workloads = rollouts.workloads(of: preflight.set, changes: preflight.diff)
        do {
            progress.update("applying \(preflight.diff.changes.count) changed objects")
            do {
                try session.step("apply") {
                    let applied = try rollouts.apply(preflight.set)
                    session.record("applied", .number(Double(applied.count)))
                }
            } catch let error where !context.interrupt.isSet {
                let trigger = BakeTrigger(criterion: "apply", summary: "kubectl apply failed: \(Redactor.redact(String(describing: error)))",
                                          satisfiedAt: clock.now())
                return finish(.rolledBack, session: session, report: rollBack(trigger, point: point, session: session, progress: progress))
            }

            progress.update("rolling out \(workloads.map(\.object).joined(separator: ", "))")
            let results = try session.step("wait for the rollout") { () throws -> [Rollouts.Result] in
                let results = try rollouts.wait(for: workloads, clock: clock)
                session.record("rollouts", .array(results.map { .string($0.summary) }))
                return results
            }
            if let failed = results.first(where: { !$0.succeeded }) {
                let trigger = BakeTrigger(criterion: "rollout", summary: "the rollout did not finish: \(failed.summary)",
                                          satisfiedAt: clock.now(), details: results.map(\.summary))
                return finish(.rolledBack, session: session, report: rollBack(trigger, point: point, session: session, progress: progress))
            }
            let rolledOut = clock.now()
            console.diagnostic("deploy: rolled out \(results.map { "\($0.workload.object) (\(String(format: "%.1f", $0.seconds)) s)" }.joined(separator: ", ")); watching for \(DurationParser.format(options.bake)), every \(DurationParser.format(options.interval))")

            let evaluator = try makeEvaluator(preflight.set.images.map(\.image), context)
            let criteria = session.configuration.policy.rollback
            let bake = Bake(evaluator: evaluator, duration: options.bake, interval: options.interval,
                            overtime: max(criteria.errorRateFor, criteria.p95LatencyFor))
            let outcome = try bake.run(from: rolledOut, session: session) { tick, remaining in
                let elapsed = DurationParser.format(max(0, tick.time.timeIntervalSince(rolledOut)).rounded())
                let left = remaining > 0 ? "\(DurationParser.format(remaining.rounded())) left" : "overtime: a metric is above its threshold"
                progress.update("baking \(elapsed) of \(DurationParser.format(options.bake)) (\(left)): \(tick.status)\(Self.decisionSuffix(tick.decision))")
            }
            switch outcome {
            case .healthy(let evaluations):
                progress.finish("healthy after \(evaluations) evaluations over \(DurationParser.format(options.bake))")
                return finish(.healthy, session: session, report: nil)
            case .interrupted:
                progress.finish("interrupted: stopped watching")
                throw DeployWatchInterrupted(rollbackCommand: command)
            case .rollback(let trigger):
                return finish(.rolledBack, session: session, report: rollBack(trigger, point: point, session: session, progress: progress))
            }
        } catch let error where context.interrupt.isSet && !(error is DeployWatchInterrupted) {
            progress.finish("interrupted")
            throw DeployWatchInterrupted(rollbackCommand: command)
        }
    }

    static func decisionSuffix(_ decision: BakeTick.Decision) -> String {
        if case .inconclusive(let n) = decision { return " [no data: \(n) in a row]" }
        return ""
    }

    package func rollbackCommand(_ session: OperationSession) -> String {
        "luminatectl --env \(session.configuration.environmentName.value) rollback --deploy \(session.id) --reason '...'"
    }

    /// Rolls back to `point` (unless --no-auto-rollback) and waits for that rollout. A rollback
    /// that fails is reported with the command to finish it by hand; it never throws past the report.
    func rollBack(_ trigger: BakeTrigger, point: RollbackPoint, session: OperationSession, progress: Progress) -> DecisionReport {
        var report = DecisionReport(trigger: trigger, rollbackPoint: point, rollbackIssuedAt: nil, actions: [], rolledBack: false,
                                    rollbackCommand: rollbackCommand(session))
        guard options.autoRollback else {
            progress.finish("\(trigger.criterion) triggered: not rolling back (--no-auto-rollback)")
            return report
        }
        // Until the undo is sent, the report counts from now; then from the moment it was sent.
        report.rollbackIssuedAt = session.context.clock.now()
        progress.update("rolling back: \(trigger.summary)")
        do {
            let done = try rollouts.rollBack(to: point, session: session)
            (report.actions, report.rolledBack) = (done.actions, done.rolledBack)
            report.rollbackIssuedAt = done.issuedAt ?? report.rollbackIssuedAt
            progress.finish(report.rolledBack ? "rolled back" : "rolled back, but the rollback's rollout did not finish")
        } catch {
            report.actions.append("the rollback failed: \(Redactor.redact(String(describing: error)))")
            progress.finish("the rollback failed")
        }
        return report
    }

    package enum Result: String, Sendable {
        case healthy, unchanged
        case rolledBack = "rolled-back"
    }

    func finish(_ result: Result, session: OperationSession, report: DecisionReport?) -> ExitCode {
        let console = session.context.console
        var outcome = result.rawValue
        if let report {
            session.record("decision", report.json)
            if !options.autoRollback { outcome = "not-rolled-back" } else if !report.rolledBack { outcome = "rollback-failed" }
        }
        session.record("result", .string(outcome))
        if json {
            console.line(JSONValue.object([
                ("operationID", .string(session.id)),
                ("result", .string(outcome)),
                ("emergency", options.emergency.map { .object([("approvedBy", .string($0.approvedBy)), ("reason", .string($0.reason))]) } ?? .null),
                ("preflight", DeployText.preflightJSON(preflight, steps: [])),
                ("decision", report?.json ?? .null),
            ]).rendered(pretty: true))
        } else if let report {
            console.write(report.text)
        } else {
            console.line(result == .unchanged
                ? "Nothing to deploy: the cluster already matches \(preflight.set.source)."
                : "Deployed \(preflight.set.source): healthy for \(DurationParser.format(options.bake)) after the rollout.")
        }
        if !json, let emergency = options.emergency {
            console.line("Emergency change approved by \(emergency.approvedBy): \(emergency.reason) (journaled as operation \(session.id))")
        }
        return result == .rolledBack ? .failure : .success
    }
}
