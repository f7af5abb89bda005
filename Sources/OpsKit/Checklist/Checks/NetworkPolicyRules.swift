import Foundation

/// SEC-3's rule, judged the same way on manifests and on what the cluster holds: in every
/// namespace Luminate or ClickHouse runs in, a default-deny ingress policy, and policies that
/// select Luminate's and ClickHouse's pods.
enum NetworkPolicyRules {
    static func evaluate(_ index: ManifestIndex, mode: CheckMode) -> Finding {
        let luminate = index.podLabels { $0.isLuminate && $0.replicas > 0 }
        let clickhouse = index.podLabels { $0.isClickHouse && $0.replicas > 0 }
        guard !luminate.isEmpty || !clickhouse.isEmpty else {
            return Finding(mode, .fail, "no Luminate or ClickHouse workload to protect" + (mode == .live ? " in the namespace" : " in the manifests"))
        }
        let policies = index.objects("NetworkPolicy")
        var problems: [String] = []
        var evidence: [String] = []
        let namespaces = Set((luminate + clickhouse).map { $0.namespace ?? "" }).sorted()
        for namespace in namespaces {
            let here = policies.filter { ($0.namespace ?? "") == namespace }
            let denies = here.filter(isDefaultDeny)
            if denies.isEmpty {
                problems.append("namespace \(namespace): no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no ingress rules)")
            } else {
                evidence += denies.map { "\($0.reference): default deny" }
            }
        }
        for (what, pods) in [("Luminate", luminate), ("ClickHouse", clickhouse)] {
            guard !pods.isEmpty else {
                problems.append("no \(what) pods found, so no policy for them can be checked")
                continue
            }
            for pod in pods {
                let selecting = policies.filter { policy in
                    (policy.namespace ?? "") == (pod.namespace ?? "") && !isDefaultDeny(policy)
                        && { let s = LabelSelector(selector: policy[path: "spec.podSelector"]); return !s.isEmpty && s.matches(pod.labels) }()
                }
                if selecting.isEmpty {
                    problems.append("\(pod.workload.reference): no NetworkPolicy selects \(what)'s pods (\(labelText(pod.labels)))")
                } else {
                    evidence += selecting.map { "\($0.reference): selects \(what) pods of \(pod.workload.object.identity)" }
                }
            }
        }
        if !problems.isEmpty {
            return Finding(mode, .fail, problems.count == 1 ? problems[0] : "\(problems.count) gaps in the network policies", evidence: problems + evidence)
        }
        return Finding(mode, .pass, "default deny, with policies for Luminate and ClickHouse", evidence: capped(evidence))
    }

    /// `podSelector: {}`, Ingress among the policy types (the default when none are given), and
    /// no ingress rule: nothing may connect unless another policy allows it.
    static func isDefaultDeny(_ policy: ManifestObject) -> Bool {
        let selector = LabelSelector(selector: policy[path: "spec.podSelector"])
        guard selector.isEmpty else { return false }
        let types = (policy[path: "spec.policyTypes"]?.array ?? []).compactMap(\.string)
        let coversIngress = types.isEmpty || types.contains("Ingress")
        let rules = policy[path: "spec.ingress"]?.array ?? []
        return coversIngress && rules.isEmpty
    }

    private static func labelText(_ labels: [String: String]) -> String {
        labels.isEmpty ? "no labels" : labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
