import Foundation

/// SEC-4's static rule: dedicated ServiceAccounts, no wildcards, no cluster-admin, and no API
/// token mounted into pods whose ServiceAccount no binding uses.
enum RBACRules {
    static func evaluate(_ index: ManifestIndex) -> Finding {
        var problems: [String] = []
        var evidence: [String] = []
        let accounts = index.objects("ServiceAccount")
        let bindings = index.objects("RoleBinding", "ClusterRoleBinding")

        // Subjects of any binding: a ServiceAccount that is bound talks to the API.
        var bound = Set<String>()
        for binding in bindings {
            for subject in binding["subjects"]?.array ?? [] where subject["kind"]?.string == "ServiceAccount" {
                bound.insert("\(subject["namespace"]?.string ?? binding.namespace ?? "")/\(subject["name"]?.string ?? "")")
            }
            if binding[path: "roleRef.kind"]?.string == "ClusterRole", binding[path: "roleRef.name"]?.string == "cluster-admin" {
                problems.append("\(binding.reference): binds cluster-admin")
            }
        }

        for workload in index.workloads where workload.isLuminate || workload.isClickHouse || workload.isZooKeeper {
            let namespace = workload.object.namespace ?? ""
            guard let name = workload.serviceAccountName, name != "default" else {
                problems.append("\(workload.reference): runs as the namespace's default ServiceAccount")
                continue
            }
            guard let account = accounts.first(where: { $0.name == name && ($0.namespace ?? "") == namespace }) else {
                problems.append("\(workload.reference): ServiceAccount \(name) is not defined in the manifests")
                continue
            }
            let mounted = workload.automountToken ?? account["automountServiceAccountToken"]?.bool ?? true
            if mounted && !bound.contains("\(namespace)/\(name)") {
                problems.append("\(workload.reference): mounts the API token of ServiceAccount \(name), which no binding uses (set automountServiceAccountToken: false)")
            } else {
                evidence.append("\(workload.reference): ServiceAccount \(name)" + (mounted ? ", bound" : ", token not mounted"))
            }
        }

        for role in index.objects("Role", "ClusterRole") {
            for (number, rule) in (role["rules"]?.array ?? []).enumerated() {
                let verbs = (rule["verbs"]?.array ?? []).compactMap(\.string)
                let resources = (rule["resources"]?.array ?? []).compactMap(\.string)
                if verbs.contains("*") || resources.contains("*") {
                    problems.append("\(role.reference): rule \(number + 1) grants \(verbs.joined(separator: ",")) on \(resources.joined(separator: ","))")
                }
            }
        }
        if !problems.isEmpty {
            return Finding(.static, .fail, "\(problems.count) RBAC problem(s)", evidence: capped(problems) + capped(evidence, 10))
        }
        if evidence.isEmpty {
            return Finding(.static, .fail, "no Luminate, ClickHouse or ZooKeeper workload in the manifests to check")
        }
        return Finding(.static, .pass, "dedicated ServiceAccounts, no wildcard rules, no cluster-admin binding", evidence: capped(evidence))
    }
}
