import Foundation

/// The live side of SEC-1 ... SEC-4: the JWT Secret and its owner, the network policies in the
/// cluster, and access reviews as Luminate's ServiceAccount.
enum SecurityLive {
    /// Actions Luminate's ServiceAccount must never be allowed.
    static let forbiddenActions: [(verb: String, group: String, resource: String, subresource: String?, namespace: String?)] = [
        ("create", "rbac.authorization.k8s.io", "clusterrolebindings", nil, nil),
        ("get", "", "secrets", nil, "kube-system"),
        ("delete", "", "namespaces", nil, nil),
        ("create", "", "pods", "exec", "$namespace"),
        ("list", "", "secrets", nil, "$namespace"),
        ("*", "*", "*", nil, nil),
    ]

    /// The JWT Secret references, from the manifests when the run has them, else from the
    /// Luminate workloads in the cluster.
    static func jwtReferences(_ scope: LiveScope) throws -> [SecretReference] {
        let index = try scope.manifests ?? scope.liveObjects(["deployments", "statefulsets"], selector: "app.kubernetes.io/name=luminate")
        let sources = SecurityChecks.jwtSources(index)
        var unique: [SecretReference] = []
        for reference in sources.references + sources.envFrom where !unique.contains(where: { $0.secret == reference.secret && $0.key == reference.key }) {
            unique.append(reference)
        }
        if unique.isEmpty {
            throw CheckSkipped("no JWT Secret reference to look up (see the static part of this check)")
        }
        return unique
    }

    /// Each JWT Secret reference with its object name and the Secret as the cluster has it (nil:
    /// not found). Values are read only to list keys and owners; they are never shown.
    static func jwtSecrets(_ scope: LiveScope) throws -> [(reference: SecretReference, name: String, secret: KubeObject?)] {
        let kubectl = scope.kubectl()
        return try jwtReferences(scope).map { reference in
            let name = "Secret/\(scope.namespace)/\(reference.secret)"
            do {
                return (reference, name, try kubectl.get("secret", reference.secret))
            } catch let error as KubectlError where error.reason == .notFound {
                return (reference, name, nil)
            }
        }
    }

    static func jwtSecretExists(_ scope: LiveScope) throws -> Finding {
        var parts: [Finding] = []
        for (reference, name, found) in try jwtSecrets(scope) {
            guard let secret = found else {
                parts.append(Finding(.live, .fail, "the JWT Secret \(reference.secret) does not exist", evidence: ["\(name): not found (read by \(reference.via))"]))
                continue
            }
            let keys = Set((secret[path: "data"]?.object ?? []).map(\.0))
            if let key = reference.key, !keys.contains(key) {
                parts.append(Finding(.live, .fail, "the JWT Secret \(reference.secret) has no key \(key)",
                                     evidence: ["\(name): keys \(keys.sorted().joined(separator: ", "))"]))
            } else {
                parts.append(Finding(.live, .pass, "the JWT Secret exists with its key", evidence: ["\(name): has key \(reference.key ?? "(envFrom)") (value not shown)"]))
            }
        }
        return Finding.merge(parts, mode: .live)
    }

    static func jwtSecretOwner(_ scope: LiveScope) throws -> Finding {
        let kinds = scope.settings.secretKinds
        var parts: [Finding] = []
        for (reference, name, found) in try jwtSecrets(scope) {
            guard let secret = found else {
                parts.append(Finding(.live, .fail, "the JWT Secret \(reference.secret) does not exist", evidence: ["\(name): not found"]))
                continue
            }
            let owners = (secret[path: "metadata.ownerReferences"]?.array ?? []).compactMap { owner -> String? in
                guard let kind = owner["kind"]?.string else { return nil }
                return "\(kind)/\(owner["name"]?.string ?? "?")"
            }
            if let owner = owners.first(where: { kinds.contains(String($0.prefix { $0 != "/" })) }) {
                parts.append(Finding(.live, .pass, "the JWT Secret is owned by \(owner)", evidence: ["\(name): owned by \(owner)"]))
            } else {
                parts.append(Finding(.live, .fail, "the JWT Secret \(reference.secret) is not owned by a \(kinds.joined(separator: " or ")): it was created by hand",
                                     evidence: ["\(name): owners \(owners.isEmpty ? "none" : owners.joined(separator: ", "))"]))
            }
        }
        return Finding.merge(parts, mode: .live)
    }

    static func networkPolicies(_ scope: LiveScope) throws -> Finding {
        let live = try scope.liveObjects(["networkpolicies", "deployments", "statefulsets"])
        var objects = live.objects
        do {
            objects += try scope.liveObjects(["clickhouseinstallations"]).objects
        } catch let error as KubectlError where error.reason == .unknownResourceType {
            // No Altinity operator in this cluster: ClickHouse runs as StatefulSets, if at all.
        }
        var finding = NetworkPolicyRules.evaluate(ManifestIndex(objects: objects), mode: .live)
        if let manifests = scope.manifests {
            let present = Set(live.objects("NetworkPolicy").map(\.name))
            let missing = manifests.objects("NetworkPolicy").filter { $0.namespace == scope.namespace && !present.contains($0.name) }
            if !missing.isEmpty {
                finding.outcome = .fail
                finding.message = "\(missing.count) NetworkPolic\(missing.count == 1 ? "y" : "ies") of the manifests not in the cluster"
                finding.evidence = missing.map { "\($0.reference): not in namespace \(scope.namespace)" } + finding.evidence
                finding.fix = "apply the manifests (kubectl apply -k ...) and check the CNI supports NetworkPolicy"
            }
        }
        return finding
    }

    static func accessReviews(_ scope: LiveScope) throws -> Finding {
        let account = scope.manifests?.luminateWorkloads.compactMap(\.serviceAccountName).first ?? "luminate"
        let user = "system:serviceaccount:\(scope.namespace):\(account)"
        let reviews: [JSONValue] = forbiddenActions.map { action in
            var attributes: [(String, JSONValue)] = [("verb", .string(action.verb)), ("group", .string(action.group)), ("resource", .string(action.resource))]
            if let subresource = action.subresource { attributes.append(("subresource", .string(subresource))) }
            if let namespace = action.namespace { attributes.append(("namespace", .string(namespace == "$namespace" ? scope.namespace : namespace))) }
            return .object([
                ("apiVersion", "authorization.k8s.io/v1"), ("kind", "SelfSubjectAccessReview"),
                ("spec", .object([("resourceAttributes", .object(attributes))])),
            ])
        }
        // JSON through `create -f -`, not `kubectl auth can-i`: its generator sends protobuf,
        // which some API servers (and the test emulator) refuse. One document after another
        // rather than a v1 List, which kubectl would validate against a schema not every
        // server publishes.
        let body = reviews.map { $0.rendered() }.joined(separator: "\n")
        let kubectl = scope.kubectl()
        let plan = kubectl.plan("create", ["create", "-f", "-", "-o", "json", "--as=\(user)"], object: "selfsubjectaccessreviews", stdin: Data(body.utf8))
        let answers = try kubectl.runObjects(plan)
        var allowed: [String] = []
        var denied: [String] = []
        for answer in answers {
            let attributes = answer[path: "spec.resourceAttributes"]
            let verb = attributes?["verb"]?.string ?? "?"
            let resource = attributes?["resource"]?.string.map { r in attributes?["subresource"]?.string.map { "\(r)/\($0)" } ?? r } ?? "?"
            let action = (verb == "*" && resource == "*" ? "do anything (* on *)" : "\(verb) \(resource)")
                + (attributes?["namespace"]?.string.map { " in \($0)" } ?? " (cluster-wide)")
            if answer[path: "status.allowed"]?.bool == true {
                allowed.append("\(user) may \(action)")
            } else {
                denied.append("\(user) may not \(action)")
            }
        }
        if answers.count != reviews.count {
            return Finding(.live, .error, "the API server answered \(answers.count) of \(reviews.count) access reviews")
        }
        if !allowed.isEmpty {
            return Finding(.live, .fail, "Luminate's ServiceAccount \(account) may do \(allowed.count) thing(s) it must never do", evidence: allowed + denied,
                           fix: "remove the bindings that grant these to \(user) (kubectl get rolebindings,clusterrolebindings -A -o wide)")
        }
        return Finding(.live, .pass, "every forbidden action is denied to \(account)", evidence: denied)
    }
}
