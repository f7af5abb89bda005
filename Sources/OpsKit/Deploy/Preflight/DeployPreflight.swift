import Foundation

/// Everything a deploy finds out before it changes anything: the objects to apply, the images
/// they change, the policy gate, the checklist, the RPO guard, the diff and the rollback point
/// as the cluster stands. `--dry-run` and `deploy plan` show it; a deploy stops at the first
/// refusal in it.
package struct DeployPreflight: Sendable {
    package var set: DeploySet
    package var imageChanges: [ImageChange]
    package var gate: PolicyGateCheck
    package var checklist: StaticGate
    package var rpo: RPOGuard
    package var diff: DiffSummary
    /// The rollback point as it would be recorded now (the deploy reads it again under the lock).
    package var rollbackPoint: RollbackPoint
    package var environment: String
    package var namespace: String
    /// The rollback criteria the bake will use, for the reports.
    package var criteria: RollbackCriteria

    /// The first reason not to go ahead, in the order an operator fixes them.
    package var refusal: (any OperatorError)? {
        if let refusal = gate.refusal { return refusal }
        if !checklist.passed {
            return DeployRefused(
                "the checklist's static checks fail on \(set.source): "
                    + checklist.failures.map { "\($0.check.id) (\($0.check.title)): \($0.message)" }.joined(separator: "; "),
                hint: "fix the manifests, then see: luminatectl checklist run --manifests \(set.source)")
        }
        return rpo.refusal
    }

    package static func run(options: DeployOptions, invocation: Invocation, configuration: Configuration, context: Context) throws -> DeployPreflight {
        let connections = Connections(configuration: configuration, context: context)
        var kubectl = connections.kubectl()
        kubectl.processTimeout = 120
        let loader = ManifestLoader(kubectl: kubectl, defaultNamespace: configuration.namespace.value, workingDirectory: context.workingDirectory)
        let set = try DeploySet.load(path: options.manifests, display: options.manifestsDisplay, overrides: options.images, loader: loader)

        let changes = try liveImageChanges(set, kubectl: kubectl)
        let gate = PolicyGateCheck.evaluate(changes: changes, options: options, configuration: configuration, now: context.clock.now())
        let checklist = try StaticGate.run(set, invocation: invocation, configuration: configuration, context: context)
        let rpo = RPOGuard.check(configuration: configuration, context: context, options: options)
        let diff = DiffSummary.parse(try kubectl.inNamespace(nil).diff(manifest: set.applyDocument).text, objects: set.objects)
        let point = try RollbackPoint.read(changes: diff, set: set, kubectl: kubectl)
        return DeployPreflight(
            set: set, imageChanges: changes, gate: gate, checklist: checklist, rpo: rpo, diff: diff, rollbackPoint: point,
            environment: configuration.environmentName.value, namespace: configuration.namespace.value,
            criteria: configuration.policy.rollback)
    }

    /// The images each workload runs now against the ones it will run; a workload that does not
    /// exist yet changes from nothing.
    static func liveImageChanges(_ set: DeploySet, kubectl: Kubectl) throws -> [ImageChange] {
        let workloads = set.objects.filter { PodTemplates.podSpecPath(kind: $0.kind) != nil }
        let live: [KubeObject?] = try parallelMap(workloads, width: 4) { object in
            do {
                return try kubectl.inNamespace(object.namespace).get(object.kind.lowercased(), object.name)
            } catch let error as KubectlError where error.reason == .notFound {
                return nil
            }
        }
        var changes: [ImageChange] = []
        for (object, current) in zip(workloads, live) {
            let before = Dictionary(PodTemplates.images(of: current?.json ?? .null).map { ($0.container, $0.image) }, uniquingKeysWith: { a, _ in a })
            for (container, image) in PodTemplates.images(of: object.json) where before[container] != image {
                changes.append(ImageChange(
                    workload: "\(object.kind)/\(object.name)", container: container,
                    from: before[container].flatMap { try? ImageReference($0) }, to: try ImageReference(image)))
            }
        }
        return changes
    }
}
