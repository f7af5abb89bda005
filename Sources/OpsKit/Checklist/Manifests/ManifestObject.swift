import Foundation

/// One Kubernetes object from the manifests (or read from the cluster), with where it was
/// written, so that evidence names it the way an operator finds it:
/// `Deployment/luminate/luminate (manifests/base/luminate.yaml:1)`.
package struct ManifestObject: Sendable {
    package var json: JSONValue
    /// Where the object starts; nil for an object read from the cluster.
    package var mark: SourceMark?
    package let apiVersion: String
    package let kind: String
    package let name: String
    /// Nil for cluster-scoped kinds; the run's namespace when a namespaced object omits it.
    package let namespace: String?
    package let labels: [String: String]

    /// Builds the object from its JSON; nil when it is not a Kubernetes object (no `kind` or
    /// `apiVersion`). `defaultNamespace` stands in for a namespaced object that names none, as
    /// `kubectl apply -n` would place it.
    package init?(_ json: JSONValue, mark: SourceMark?, defaultNamespace: String?) {
        guard let kind = json["kind"]?.string, !kind.isEmpty, let apiVersion = json["apiVersion"]?.string else { return nil }
        self.json = json
        self.mark = mark
        self.kind = kind
        self.apiVersion = apiVersion
        let metadata = json["metadata"]
        self.name = metadata?["name"]?.string ?? metadata?["generateName"]?.string.map { $0 + "*" } ?? "(unnamed)"
        if ManifestObject.clusterScopedKinds.contains(kind) {
            self.namespace = nil
        } else {
            self.namespace = metadata?["namespace"]?.string ?? defaultNamespace
        }
        self.labels = ManifestObject.stringMap(metadata?["labels"])
    }

    /// A cluster object as kubectl returned it.
    package init?(live object: KubeObject, defaultNamespace: String?) {
        self.init(object.json, mark: nil, defaultNamespace: defaultNamespace)
    }

    package subscript(path path: String) -> JSONValue? { json[path: path] }
    package subscript(key: String) -> JSONValue? { json[key] }

    package var annotations: [String: String] { Self.stringMap(json[path: "metadata.annotations"]) }

    /// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object.
    package var identity: String {
        if let namespace { return "\(kind)/\(namespace)/\(name)" }
        return "\(kind)/\(name)"
    }

    /// Where the object came from: `file:line`, the file kustomize read it from when the
    /// rendering carries origin annotations, or `cluster` for a live object.
    package var location: String {
        guard let mark else { return "cluster" }
        if let origin = annotations["config.kubernetes.io/origin"], let path = Self.originPath(origin) {
            // The origin is relative to the kustomization that was rendered.
            let root = mark.file.hasPrefix("kustomize:") ? String(mark.file.dropFirst("kustomize:".count)) : ""
            return "\(Self.joined(root, path)) (rendered by kustomize)"
        }
        return "\(mark.file):\(mark.line)"
    }

    /// `Deployment/luminate/luminate (manifests/base/luminate.yaml:1)`: the evidence form.
    package var reference: String { "\(identity) (\(location))" }

    /// Whether `app.kubernetes.io/name` (or the older `app`) on the object says `name`.
    package func isApp(_ name: String) -> Bool {
        labels["app.kubernetes.io/name"] == name || labels["app"] == name
    }

    /// Kinds without a namespace, as the API server scopes them.
    package static let clusterScopedKinds: Set<String> = [
        "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
        "CustomResourceDefinition", "IngressClass", "PriorityClass", "ClusterIssuer", "ClusterSecretStore",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "RuntimeClass",
        "CSIDriver", "VolumeSnapshotClass",
    ]

    package static func stringMap(_ value: JSONValue?) -> [String: String] {
        guard let entries = value?.object else { return [:] }
        var map: [String: String] = [:]
        map.reserveCapacity(entries.count)
        for (key, value) in entries {
            switch value {
            case .string(let text): map[key] = text
            case .number, .bool: map[key] = value.rendered()
            default: break
            }
        }
        return map
    }

    /// `overlays/production` + `../../base/a.yaml` → `base/a.yaml`.
    static func joined(_ directory: String, _ path: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        var parts = directory.split(separator: "/").map(String.init)
        for part in path.split(separator: "/") {
            if part == ".." , let last = parts.last, last != ".." { parts.removeLast() } else if part != "." { parts.append(String(part)) }
        }
        return (directory.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// `path: base/luminate.yaml` out of kustomize's `config.kubernetes.io/origin` annotation.
    private static func originPath(_ annotation: String) -> String? {
        for line in annotation.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("path:") {
                let path = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
                return path.isEmpty ? nil : path
            }
        }
        return nil
    }
}

/// A YAML or JSON document in the manifests that is not a Kubernetes object: a plain Prometheus
/// rules file, an Alertmanager configuration, a Grafana dashboard.
package struct ManifestDocument: Sendable {
    package var json: JSONValue
    package var mark: SourceMark

    package init(json: JSONValue, mark: SourceMark) {
        self.json = json
        self.mark = mark
    }

    /// `monitoring/luminate.rules.yml:1`
    package var location: String { "\(mark.file):\(mark.line)" }
}
