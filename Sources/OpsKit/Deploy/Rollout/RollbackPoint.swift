import Foundation

/// What a deploy returns to if it is rolled back, recorded in the journal before anything is
/// applied: each changed Deployment's current revision (and pod template, to tell whether the
/// deploy got as far as changing it), and for StatefulSets, custom resources and the other
/// changed objects the whole current object, which a rollback re-applies. Objects the deploy
/// creates have nothing to return to; Secrets are named but never recorded, so no secret
/// reaches the journal.
package struct RollbackPoint: Sendable, Equatable {
    package struct Deployment: Sendable, Equatable {
        package var namespace: String
        package var name: String
        package var revision: Int
        package var template: JSONValue
        package var images: [String]
    }

    package struct Snapshot: Sendable, Equatable {
        package var identity: String
        package var kind: String
        package var name: String
        package var namespace: String?
        /// The object as it was, without its status and server-set metadata.
        package var object: JSONValue
    }

    package var deployments: [Deployment] = []
    package var snapshots: [Snapshot] = []
    /// Objects this deploy creates (`Kind/namespace/name`): left in place by a rollback.
    package var created: [String] = []
    /// Changed Secrets: not recorded, not restored.
    package var secrets: [String] = []

    package init(deployments: [Deployment] = [], snapshots: [Snapshot] = [], created: [String] = [], secrets: [String] = []) {
        self.deployments = deployments
        self.snapshots = snapshots
        self.created = created
        self.secrets = secrets
    }

    package var isEmpty: Bool { deployments.isEmpty && snapshots.isEmpty }

    /// One line per object, for the plan, the decision report and the change-request document.
    package var lines: [String] {
        deployments.map { "Deployment/\($0.namespace)/\($0.name): revision \($0.revision) (\($0.images.joined(separator: ", ")))" }
            + snapshots.map { "\($0.identity): the object as it was (\(Self.images(of: $0.object).joined(separator: ", ").nonEmpty ?? "recorded in the journal"))" }
            + created.map { "\($0): created by this deploy, left in place by a rollback" }
            + secrets.map { "\($0): a Secret, never recorded: not restored by a rollback" }
    }

    static func images(of object: JSONValue) -> [String] { PodTemplates.images(of: object).map(\.image) }

    /// Reads the point from the cluster for the objects the diff says change.
    package static func read(changes: DiffSummary, set: DeploySet, kubectl: Kubectl) throws -> RollbackPoint {
        var point = RollbackPoint()
        for change in changes.changes {
            if change.created {
                point.created.append(change.identity)
                continue
            }
            if change.kind == "Secret" {
                point.secrets.append(change.identity)
                continue
            }
            let client = kubectl.inNamespace(change.namespace)
            let kindName = set.objects.first { $0.identity == change.identity }.map { Self.kubectlKind($0) } ?? change.kind.lowercased()
            let live = try client.get(kindName, change.name)
            if change.kind == "Deployment", let text = live.annotations["deployment.kubernetes.io/revision"], let revision = Int(text),
               let template = live.json[path: "spec.template"] {
                point.deployments.append(Deployment(
                    namespace: change.namespace ?? "", name: change.name, revision: revision, template: template,
                    images: PodTemplates.images(of: live.json).map(\.image)))
            } else {
                point.snapshots.append(Snapshot(
                    identity: change.identity, kind: change.kind, name: change.name, namespace: change.namespace,
                    object: restorable(live.json)))
            }
        }
        return point
    }

    /// The kind as kubectl takes it on the command line: qualified by its group for custom
    /// resources, whose short kind may be ambiguous.
    static func kubectlKind(_ object: ManifestObject) -> String {
        let parts = object.apiVersion.split(separator: "/")
        guard parts.count == 2, !["apps", "batch", "policy", "autoscaling"].contains(String(parts[0])),
              !parts[0].hasSuffix(".k8s.io") else { return object.kind.lowercased() }
        return "\(object.kind.lowercased()).\(parts[0])"
    }

    /// The object without what the server owns (status, uid, resourceVersion, managedFields), so
    /// applying it later returns the spec and leaves the server's bookkeeping alone.
    package static func restorable(_ json: JSONValue) -> JSONValue {
        guard case .object(let pairs) = json else { return json }
        return .object(pairs.compactMap { key, value in
            switch key {
            case "status": return nil
            case "metadata":
                let dropped: Set<String> = ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink"]
                return (key, .object((value.object ?? []).filter { !dropped.contains($0.0) }))
            default: return (key, value)
            }
        })
    }

    // MARK: - The journal's form

    package var json: JSONValue {
        .object([
            ("deployments", .array(deployments.map {
                .object([("namespace", .string($0.namespace)), ("name", .string($0.name)), ("revision", .number(Double($0.revision))),
                         ("images", .array($0.images.map { .string($0) })), ("template", $0.template)])
            })),
            ("snapshots", .array(snapshots.map {
                .object([("identity", .string($0.identity)), ("kind", .string($0.kind)), ("name", .string($0.name)),
                         ("namespace", $0.namespace.map(JSONValue.string) ?? .null), ("object", $0.object)])
            })),
            ("created", .array(created.map { .string($0) })),
            ("secrets", .array(secrets.map { .string($0) })),
        ])
    }

    package init?(json: JSONValue) {
        guard let deployments = json["deployments"]?.array, let snapshots = json["snapshots"]?.array else { return nil }
        self.deployments = deployments.compactMap { d in
            guard let name = d["name"]?.string, let revision = d["revision"]?.int, let template = d["template"] else { return nil }
            return Deployment(namespace: d["namespace"]?.string ?? "", name: name, revision: revision, template: template,
                              images: d["images"]?.array?.compactMap(\.string) ?? [])
        }
        self.snapshots = snapshots.compactMap { s in
            guard let identity = s["identity"]?.string, let kind = s["kind"]?.string, let name = s["name"]?.string,
                  let object = s["object"] else { return nil }
            return Snapshot(identity: identity, kind: kind, name: name, namespace: s["namespace"]?.string, object: object)
        }
        created = json["created"]?.array?.compactMap(\.string) ?? []
        secrets = json["secrets"]?.array?.compactMap(\.string) ?? []
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
