import Foundation

/// Questions several checks ask of a set of manifests (or live objects): how Luminate is
/// exposed, which Secrets a workload reads, which object produces a Secret.
extension ManifestIndex {
    /// Ingresses that route to a Luminate Service.
    package var luminateIngresses: [ManifestObject] {
        let services = Set(luminateServices.map { "\($0.namespace ?? "")/\($0.name)" })
        return objects("Ingress").filter { ingress in
            ingress.ingressBackendServices.contains { services.contains("\(ingress.namespace ?? "")/\($0)") }
        }
    }

    /// Every Secret a workload reads, with how: env `secretKeyRef`, `envFrom`, volumes.
    package var secretReferences: [SecretReference] {
        workloads.flatMap(\.secretReferences)
    }

    /// Names of Secrets that objects of `kinds` produce, by namespace/name.
    package func producedSecrets(kinds: [String]) -> [String: ManifestObject] {
        var produced: [String: ManifestObject] = [:]
        for kind in kinds {
            for object in objects(kind) {
                produced["\(object.namespace ?? "")/\(object.producedSecretName)"] = object
            }
        }
        return produced
    }

    /// Pods' labels of the workloads in `namespace`, for "does this policy select anything".
    package func podLabels(where predicate: (Workload) -> Bool) -> [(namespace: String?, labels: [String: String], workload: Workload)] {
        workloads.filter(predicate).map { ($0.object.namespace, $0.podLabels, $0) }
    }
}

extension ManifestObject {
    /// Service names an Ingress sends traffic to (`networking.k8s.io/v1`, and the older
    /// `serviceName` of `v1beta1`).
    package var ingressBackendServices: Set<String> {
        var names = Set<String>()
        func add(_ backend: JSONValue?) {
            if let name = backend?[path: "service.name"]?.string ?? backend?["serviceName"]?.string { names.insert(name) }
        }
        add(self[path: "spec.defaultBackend"])
        add(self[path: "spec.backend"])
        for rule in self[path: "spec.rules"]?.array ?? [] {
            for path in rule[path: "http.paths"]?.array ?? [] { add(path["backend"]) }
        }
        return names
    }

    /// Hosts an Ingress serves (`spec.rules[].host`).
    package var ingressHosts: [String] {
        (self[path: "spec.rules"]?.array ?? []).compactMap { $0["host"]?.string }
    }

    /// The Secret this object produces when it is a SealedSecret, ExternalSecret, cert-manager
    /// Certificate or Vault secret: its target name, which defaults to its own name.
    package var producedSecretName: String {
        self[path: "spec.target.name"]?.string                  // ExternalSecret
            ?? self[path: "spec.template.metadata.name"]?.string  // SealedSecret
            ?? self[path: "spec.secretName"]?.string              // cert-manager Certificate
            ?? self[path: "spec.destination.name"]?.string        // Vault Secrets Operator
            ?? name
    }
}

/// A workload reading a Secret.
package struct SecretReference: Sendable {
    package var secret: String
    package var key: String?
    package var namespace: String?
    /// `Deployment/luminate/luminate (file:line) container luminate env JWT_SECRET`
    package var via: String
}

extension Workload {
    package var secretReferences: [SecretReference] {
        var references: [SecretReference] = []
        let namespace = object.namespace
        for container in containers {
            for variable in container.env {
                if let ref = variable[path: "valueFrom.secretKeyRef"], let name = ref["name"]?.string {
                    references.append(SecretReference(
                        secret: name, key: ref["key"]?.string, namespace: namespace,
                        via: "\(reference) container \(container.name) env \(variable["name"]?.string ?? "?")"))
                }
            }
            for source in container.envFrom {
                if let name = source[path: "secretRef.name"]?.string {
                    references.append(SecretReference(secret: name, key: nil, namespace: namespace, via: "\(reference) container \(container.name) envFrom"))
                }
            }
        }
        for volume in podSpec["volumes"]?.array ?? [] {
            if let name = volume[path: "secret.secretName"]?.string {
                references.append(SecretReference(secret: name, key: nil, namespace: namespace, via: "\(reference) volume \(volume["name"]?.string ?? "?")"))
            }
            for source in volume[path: "projected.sources"]?.array ?? [] {
                if let name = source[path: "secret.name"]?.string {
                    references.append(SecretReference(secret: name, key: nil, namespace: namespace, via: "\(reference) projected volume \(volume["name"]?.string ?? "?")"))
                }
            }
        }
        return references
    }
}

/// Evidence lists are capped: a 50,000-object run must not print 50,000 lines per check.
package func capped(_ lines: [String], _ limit: Int = 50) -> [String] {
    guard lines.count > limit else { return lines }
    return Array(lines.prefix(limit)) + ["... and \(lines.count - limit) more"]
}
