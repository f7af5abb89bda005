import Foundation

/// Security (SEC-1 ... SEC-5): the JWT secret, where secrets come from, network policies, RBAC,
/// TLS for external traffic.
enum SecurityChecks {
    static let all = [jwtSecret, secretSources, networkPolicies, rbac, externalTLS]

    static let jwtSecret = ChecklistCheck(
        "SEC-1", "JWT secret configured", section: .security,
        explanation: CheckExplanation(
            what: "Luminate signs and verifies its API tokens with a JWT secret that it reads from a Kubernetes Secret.",
            why: "A secret written into a manifest is in every clone of the repository and every CI log that prints it; a missing secret leaves Luminate unable to authenticate anyone (or, worse, with a default).",
            how: "Static: every Luminate container's environment variable whose name contains JWT comes from valueFrom.secretKeyRef, never a literal value or a ConfigMap. Live: the named Secret exists in the namespace and holds the named key. The value is never read into the report.",
            fix: "Set the variable with valueFrom.secretKeyRef (name and key of the Secret) and create that Secret from a SealedSecret or ExternalSecret (see SEC-2)."),
        staticRule: { scope in try jwtReferences(scope.manifests()) },
        liveProbe: { scope in try SecurityLive.jwtSecretExists(scope) })

    static let secretSources = ChecklistCheck(
        "SEC-2", "Secrets stored in vault/sealed secrets", section: .security,
        explanation: CheckExplanation(
            what: "Secrets reach the cluster from an encrypted or external source (SealedSecret, ExternalSecret, or a kind named in checklist.secretKinds), never as plain Secret objects in the manifests.",
            why: "A Secret's data in a manifest is only base64: anyone who can read the repository can read the credential. A Secret created by hand is lost on the next rebuild of the cluster.",
            how: "Static: no Secret in the manifests carries data or stringData, and every Secret a workload reads (env, envFrom, volumes) is produced by one of the secret kinds. Live: the JWT Secret is owned (ownerReferences) by one of those kinds.",
            fix: "Replace plain Secrets with SealedSecrets (kubeseal) or ExternalSecrets pointing at the vault, and remove the plain ones from the repository (and rotate what they held)."),
        staticRule: { scope in try secretsFromVault(scope.manifests(), kinds: scope.settings.secretKinds) },
        liveProbe: { scope in try SecurityLive.jwtSecretOwner(scope) })

    static let networkPolicies = ChecklistCheck(
        "SEC-3", "Network policies applied", section: .security,
        explanation: CheckExplanation(
            what: "The namespace denies ingress by default, and explicit NetworkPolicies allow the traffic Luminate and ClickHouse need.",
            why: "Without a default deny, any compromised pod in the cluster can reach ClickHouse's ports and read or drop every tenant's data.",
            how: "Static: in each namespace Luminate or ClickHouse runs in, a NetworkPolicy with podSelector {} and policyTypes Ingress and no ingress rules (default deny), plus a policy whose podSelector selects Luminate's pods and one selecting ClickHouse's pods. Live: the same, judged on the NetworkPolicies and workloads in the cluster; and every policy in the manifests exists there.",
            fix: "Add a default-deny NetworkPolicy to the namespace and policies that allow ingress to Luminate (from the ingress controller) and to ClickHouse (from Luminate and between ClickHouse nodes)."),
        staticRule: { scope in try NetworkPolicyRules.evaluate(scope.manifests(), mode: .static) },
        liveProbe: { scope in try SecurityLive.networkPolicies(scope) })

    static let rbac = ChecklistCheck(
        "SEC-4", "RBAC configured", section: .security,
        explanation: CheckExplanation(
            what: "Each component runs under its own ServiceAccount with least privilege: no wildcard verbs or resources, no cluster-admin binding, no API token mounted where it is not used.",
            why: "A pod's token is a credential: a compromised pod can do whatever its ServiceAccount may. The default ServiceAccount is shared by everything in the namespace.",
            how: "Static: Luminate, ClickHouse and ZooKeeper pods name a ServiceAccount other than default that the manifests define; no Role or ClusterRole rule has '*' in verbs or resources; no binding grants cluster-admin; a ServiceAccount no binding uses has automountServiceAccountToken: false (on itself or the pod). Live: SelfSubjectAccessReviews as Luminate's ServiceAccount (kubectl --as) for actions it must never have (create clusterrolebindings, read secrets in kube-system, delete namespaces, exec into pods, list secrets, everything) are all denied.",
            fix: "Create a ServiceAccount per component, bind it only to the Roles it needs, remove wildcards and cluster-admin bindings, and set automountServiceAccountToken: false where a pod never talks to the API."),
        staticRule: { scope in try RBACRules.evaluate(scope.manifests()) },
        liveProbe: { scope in try SecurityLive.accessReviews(scope) })

    static let externalTLS = ChecklistCheck(
        "SEC-5", "TLS enabled for external traffic", section: .security,
        explanation: CheckExplanation(
            what: "Nothing reaches Luminate from outside the cluster over plain HTTP: every external entry serves TLS, or redirects plain HTTP to HTTPS.",
            why: "Metrics carry tenant data and the requests carry bearer tokens; on plain HTTP both can be read and replayed by anyone on the path.",
            how: "Static: every Ingress has spec.tls covering all its hosts (and does not turn the redirect off with ssl-redirect: \"false\"), or forces a redirect (force-ssl-redirect); no LoadBalancer or NodePort Service exposes a plain HTTP port (80, 8080 or a port named http) without a TLS certificate annotation.",
            fix: "Add spec.tls for every host of the Ingress (or force the redirect), and put TLS in front of any LoadBalancer Service serving HTTP."),
        staticRule: { scope in try plainHTTPEntries(scope.manifests()) })

    // MARK: - Static rules

    /// Luminate's JWT variables: where each one reads its value from.
    struct JWTSources {
        var references: [SecretReference] = []
        var literals: [String] = []
        var others: [String] = []
        var envFrom: [SecretReference] = []
    }

    static func jwtSources(_ index: ManifestIndex) -> JWTSources {
        var sources = JWTSources()
        for workload in index.luminateWorkloads {
            for container in workload.containers {
                let via = "\(workload.reference) container \(container.name)"
                for variable in container.env {
                    guard let name = variable["name"]?.string, name.uppercased().contains("JWT") else { continue }
                    if let ref = variable[path: "valueFrom.secretKeyRef"], let secret = ref["name"]?.string {
                        sources.references.append(SecretReference(secret: secret, key: ref["key"]?.string, namespace: workload.object.namespace, via: "\(via) env \(name)"))
                    } else if variable["value"] != nil {
                        sources.literals.append("\(via) env \(name): a literal value in the manifest")
                    } else {
                        sources.others.append("\(via) env \(name): not from a Secret")
                    }
                }
                for source in container.envFrom {
                    if let secret = source[path: "secretRef.name"]?.string {
                        sources.envFrom.append(SecretReference(secret: secret, key: nil, namespace: workload.object.namespace, via: "\(via) envFrom"))
                    }
                }
            }
        }
        return sources
    }

    static func jwtReferences(_ index: ManifestIndex) -> Finding {
        guard !index.luminateWorkloads.isEmpty else {
            return Finding(.static, .fail, "no Luminate workload in the manifests (nothing labelled app.kubernetes.io/name: luminate)")
        }
        let sources = jwtSources(index)
        let good = sources.references.map { "\($0.via): from Secret \($0.secret) key \($0.key ?? "?")" }
        if !sources.literals.isEmpty || !sources.others.isEmpty {
            return Finding(.static, .fail, "Luminate's JWT secret is written into the manifests, not read from a Secret", evidence: sources.literals + sources.others + good)
        }
        if !good.isEmpty {
            return Finding(.static, .pass, "Luminate reads its JWT secret from a Secret", evidence: good)
        }
        if !sources.envFrom.isEmpty {
            return Finding(.static, .pass, "Luminate reads its environment from a Secret (envFrom); the JWT key is not named",
                           evidence: sources.envFrom.map { "\($0.via): all keys of Secret \($0.secret)" })
        }
        return Finding(.static, .fail, "Luminate reads no JWT secret: no environment variable naming JWT in its containers",
                       evidence: index.luminateWorkloads.map { "\($0.reference): containers \($0.containers.map(\.name).joined(separator: ", "))" })
    }

    static func secretsFromVault(_ index: ManifestIndex, kinds: [String]) -> Finding {
        var problems: [String] = []
        for secret in index.objects("Secret") {
            let data = (secret["data"]?.object?.count ?? 0) + (secret["stringData"]?.object?.count ?? 0)
            if data > 0 { problems.append("\(secret.reference): a plain Secret with \(data) key(s) of data in the manifests") }
        }
        let produced = index.producedSecrets(kinds: kinds)
        var good: [String] = []
        var seen = Set<String>()
        for reference in index.secretReferences {
            let key = "\(reference.namespace ?? "")/\(reference.secret)"
            guard seen.insert(key + reference.via).inserted else { continue }
            if let source = produced[key] {
                good.append("\(reference.via): Secret \(reference.secret) from \(source.reference)")
            } else if index.object("Secret", named: reference.secret, namespace: reference.namespace) != nil {
                problems.append("\(reference.via): Secret \(reference.secret) is a plain Secret, not from \(kinds.joined(separator: "/"))")
            } else {
                problems.append("\(reference.via): Secret \(reference.secret) is not produced by any \(kinds.joined(separator: ", ")) in the manifests (created by hand?)")
            }
        }
        if !problems.isEmpty {
            return Finding(.static, .fail, "\(problems.count) secret(s) not from \(kinds.joined(separator: " or "))", evidence: capped(problems) + capped(good, 10))
        }
        if good.isEmpty {
            return Finding(.static, .pass, "no plain Secret carries data, and no workload reads a Secret", evidence: [])
        }
        return Finding(.static, .pass, "every Secret the workloads read comes from \(kinds.joined(separator: " or "))", evidence: capped(good))
    }

    /// Annotations that make an ingress controller redirect plain HTTP to HTTPS.
    static let redirectAnnotations = [
        "nginx.ingress.kubernetes.io/force-ssl-redirect", "ingress.kubernetes.io/force-ssl-redirect",
        "ingress.kubernetes.io/ssl-redirect", "alb.ingress.kubernetes.io/ssl-redirect",
    ]

    static func plainHTTPEntries(_ index: ManifestIndex) -> Finding {
        var problems: [String] = []
        var good: [String] = []
        for ingress in index.objects("Ingress") {
            let annotations = ingress.annotations
            let forced = redirectAnnotations.contains { key in annotations[key].map { $0 == "true" || Int($0) != nil } ?? false }
                || annotations["traefik.ingress.kubernetes.io/router.entrypoints"].map { !$0.contains("web") || $0 == "websecure" } ?? false
            let tls = ingress[path: "spec.tls"]?.array ?? []
            let covered = Set(tls.flatMap { ($0["hosts"]?.array ?? []).compactMap(\.string) })
            let uncovered = ingress.ingressHosts.filter { !covered.contains($0) }
            if annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "false" {
                problems.append("\(ingress.reference): nginx.ingress.kubernetes.io/ssl-redirect: \"false\" serves plain HTTP without redirect")
            } else if tls.isEmpty && !forced {
                problems.append("\(ingress.reference): no spec.tls and no redirect to HTTPS")
            } else if !uncovered.isEmpty && !forced {
                problems.append("\(ingress.reference): host(s) \(uncovered.joined(separator: ", ")) have no TLS entry and no redirect")
            } else {
                good.append("\(ingress.reference): " + (tls.isEmpty ? "redirects to HTTPS" : "TLS for \(covered.isEmpty ? "its default host" : covered.sorted().joined(separator: ", "))"))
            }
        }
        for service in index.objects("Service") {
            let type = service[path: "spec.type"]?.string ?? "ClusterIP"
            guard type == "LoadBalancer" || type == "NodePort" else { continue }
            let terminated = service.annotations.keys.contains { $0.hasSuffix("ssl-cert") || $0.hasSuffix("tls-cert") || $0.contains("certificate") }
            let plain = (service[path: "spec.ports"]?.array ?? []).filter { port in
                let number = port["port"]?.int
                return number == 80 || number == 8080 || port["name"]?.string == "http" || port["appProtocol"]?.string == "http"
            }
            if !plain.isEmpty && !terminated {
                let ports = plain.map { "\($0["name"]?.string ?? "port") \($0["port"]?.int ?? 0)" }.joined(separator: ", ")
                problems.append("\(service.reference): type \(type) exposes plain HTTP (\(ports))")
            } else {
                good.append("\(service.reference): type \(type), " + (terminated ? "TLS terminated at the load balancer" : "no plain HTTP port"))
            }
        }
        if !problems.isEmpty {
            return Finding(.static, .fail, "\(problems.count) external entry point(s) serve plain HTTP", evidence: capped(problems) + capped(good, 10))
        }
        if good.isEmpty {
            return Finding(.static, .pass, "no external entry point (Ingress, LoadBalancer or NodePort Service) in the manifests")
        }
        return Finding(.static, .pass, "every external entry point serves TLS or redirects to it", evidence: capped(good))
    }
}
