import Foundation

/// The kubectl side of a deploy: apply the set, wait for each changed workload to roll out,
/// and return to a rollback point. Each is one `kubectl` call per object, through the typed
/// client, so the plan can print the exact commands.
package struct Rollouts: Sendable {
    package var kubectl: Kubectl
    /// StatefulSets have no progress deadline: how long their rollout may take.
    package var statefulSetTimeout: Double

    package init(kubectl: Kubectl, statefulSetTimeout: Double) {
        self.kubectl = kubectl
        self.statefulSetTimeout = statefulSetTimeout
    }

    /// A workload whose rollout is waited for.
    package struct Workload: Sendable, Equatable {
        package var kind: String
        package var name: String
        package var namespace: String?
        /// The controller's own deadline (a Deployment's progressDeadlineSeconds), or ours.
        package var timeout: Double

        package var object: String { "\(kind.lowercased())/\(name)" }
        package var identity: String { "\(kind)/\(namespace.map { "\($0)/" } ?? "")\(name)" }
    }

    /// How one rollout ended.
    package struct Result: Sendable, Equatable {
        package var workload: Workload
        package var outcome: RolloutOutcome
        package var seconds: Double

        package var succeeded: Bool { if case .complete = outcome { return true }; return false }

        package var summary: String {
            switch outcome {
            case .complete(let message): return "\(workload.identity): \(message)"
            case .failed(let message): return "\(workload.identity): \(message)"
            case .timedOut(let last): return "\(workload.identity): not rolled out within \(DurationParser.format(workload.timeout))" + (last.isEmpty ? "" : " (\(last))")
            }
        }
    }

    /// The workloads of `set` the diff changes, Deployments first (the service), then StatefulSets.
    package func workloads(of set: DeploySet, changes: DiffSummary) -> [Workload] {
        set.rolloutWorkloads.filter { changes.change(for: $0.identity) != nil }.map { object in
            let deadline = object.json[path: "spec.progressDeadlineSeconds"]?.number ?? 600
            return Workload(kind: object.kind, name: object.name, namespace: object.namespace,
                            timeout: object.kind == "Deployment" ? deadline : statefulSetTimeout)
        }.sorted { ($0.kind == "Deployment" ? 0 : 1, $0.identity) < ($1.kind == "Deployment" ? 0 : 1, $1.identity) }
    }

    // MARK: - Steps

    /// `kubectl apply` of the whole set, without `--namespace`: every object names its own.
    package func apply(_ set: DeploySet) throws -> [KubeObject] {
        try kubectl.inNamespace(nil).apply(manifest: set.applyDocument)
    }

    /// Waits for every workload at once: a deploy of the service and the database rolls both.
    package func wait(for workloads: [Workload], clock: any TimeSource) throws -> [Result] {
        let kubectl = self.kubectl
        return try parallelMap(workloads, width: max(1, workloads.count)) { workload in
            let start = clock.now()
            let outcome = try kubectl.inNamespace(workload.namespace)
                .rolloutStatus(workload.kind.lowercased(), workload.name, timeout: workload.timeout)
            return Result(workload: workload, outcome: outcome, seconds: clock.now().timeIntervalSince(start))
        }
    }

    /// What returning to `point` does, object by object, for plans and reports.
    package func restoreSteps(_ point: RollbackPoint, toRevision: Int? = nil) -> [String] {
        point.snapshots.map { "kubectl apply -f - (the recorded \($0.identity))" }
            + point.deployments.map { deployment in
                let client = kubectl.inNamespace(deployment.namespace)
                return client.rolloutUndoPlan("deployment", deployment.name, toRevision: toRevision ?? deployment.revision).description
            }
    }

    /// Returns the cluster to `point`: re-applies each recorded object, and undoes each
    /// Deployment whose template the deploy changed to its recorded revision (a Deployment the
    /// deploy never got to is left alone: undoing it would go one revision too far). Returns
    /// the workloads to wait for and a line per action; `issued` is called just before the first
    /// change is sent (the moment a decision report counts detection up to).
    package func restore(_ point: RollbackPoint, toRevision: Int? = nil, issued: () -> Void = {}) throws -> (workloads: [Workload], actions: [String]) {
        var actions: [String] = []
        var workloads: [Workload] = []
        var first = true
        func issuing() {
            if first { issued() }
            first = false
        }
        for snapshot in point.snapshots {
            let document = Data(snapshot.object.rendered().utf8)
            issuing()
            _ = try kubectl.inNamespace(snapshot.namespace).apply(manifest: document)
            actions.append("re-applied the recorded \(snapshot.identity)")
            if snapshot.kind == "StatefulSet" || snapshot.kind == "Deployment" {
                workloads.append(Workload(kind: snapshot.kind, name: snapshot.name, namespace: snapshot.namespace,
                                          timeout: snapshot.kind == "Deployment" ? (snapshot.object[path: "spec.progressDeadlineSeconds"]?.number ?? 600) : statefulSetTimeout))
            }
        }
        for deployment in point.deployments {
            let client = kubectl.inNamespace(deployment.namespace)
            let live = try client.get("deployment", deployment.name)
            let deadline = live.json[path: "spec.progressDeadlineSeconds"]?.number ?? 600
            let workload = Workload(kind: "Deployment", name: deployment.name, namespace: deployment.namespace, timeout: deadline)
            if toRevision == nil, live.json[path: "spec.template"] == deployment.template {
                actions.append("Deployment/\(deployment.namespace)/\(deployment.name) still has the recorded template: nothing to undo")
                continue
            }
            let revision = toRevision ?? deployment.revision
            issuing()
            switch try client.rolloutUndo("deployment", deployment.name, toRevision: revision) {
            case .rolledBack(let message): actions.append("\(message) (to revision \(revision))")
            case .skipped(let message): actions.append(message)
            }
            workloads.append(workload)
        }
        return (workloads, actions)
    }

    /// A rollback as two journaled steps, the same for an automatic and a manual one: return to
    /// `point`, then wait for the rollouts that started. Returns what was done, line by line,
    /// whether every rollout finished, and when the first change of the rollback was sent.
    package func rollBack(to point: RollbackPoint, toRevision: Int? = nil, session: OperationSession)
        throws -> (actions: [String], rolledBack: Bool, issuedAt: Date?)
    {
        var issuedAt: Date?
        let (workloads, actions) = try session.step("roll back to the rollback point") { () throws -> ([Workload], [String]) in
            let restored = try restore(point, toRevision: toRevision) { issuedAt = session.context.clock.now() }
            session.record("issuedAt", issuedAt.map { .string(JournalTime.format($0)) } ?? .null)
            session.record("actions", .array(restored.actions.map { .string($0) }))
            return restored
        }
        let results = try session.step("wait for the rollback's rollout") { () throws -> [Result] in
            let results = try wait(for: workloads, clock: session.context.clock)
            session.record("rollouts", .array(results.map { .string($0.summary) }))
            return results
        }
        return (actions + results.map(\.summary), results.allSatisfy(\.succeeded), issuedAt)
    }
}
