import Foundation

/// A parsed set of manifests, indexed once by kind so that every check reads only the kinds it
/// needs: a run over 50,000 objects touches each object a handful of times, never pairwise.
/// Built from files (static mode) or from objects read from the cluster (live mode), so the same
/// rules judge both.
package struct ManifestIndex: Sendable {
    package let objects: [ManifestObject]
    /// Non-Kubernetes documents: plain rules files, Alertmanager configurations, dashboards.
    package let documents: [ManifestDocument]
    /// What was read: files, or `kustomize <dir>`; for the report's header.
    package let sources: [String]
    package let workloads: [Workload]
    private let byKind: [String: [Int]]

    package init(objects: [ManifestObject], documents: [ManifestDocument] = [], sources: [String] = []) {
        self.objects = objects
        self.documents = documents
        self.sources = sources
        var byKind: [String: [Int]] = [:]
        var workloads: [Workload] = []
        for (index, object) in objects.enumerated() {
            byKind[object.kind, default: []].append(index)
            workloads += Workload.workloads(of: object)
        }
        self.byKind = byKind
        self.workloads = workloads
    }

    /// The objects of these kinds, in manifest order.
    package func objects(_ kinds: String...) -> [ManifestObject] {
        if kinds.count == 1 { return (byKind[kinds[0]] ?? []).map { objects[$0] } }
        return kinds.flatMap { byKind[$0] ?? [] }.sorted().map { objects[$0] }
    }

    package func count(_ kind: String) -> Int { byKind[kind]?.count ?? 0 }

    /// The object of `kind` named `name` in `namespace` (nil namespace: any).
    package func object(_ kind: String, named name: String, namespace: String? = nil) -> ManifestObject? {
        (byKind[kind] ?? []).lazy.map { self.objects[$0] }.first { $0.name == name && (namespace == nil || $0.namespace == namespace) }
    }

    package var luminateWorkloads: [Workload] { workloads.filter(\.isLuminate) }

    /// Labels of every Luminate pod template, for selectors.
    package var luminatePodLabels: [[String: String]] { luminateWorkloads.map(\.podLabels) }

    /// Labels of every ClickHouse server pod template.
    package var clickHousePodLabels: [[String: String]] { workloads.filter(\.isClickHouse).map(\.podLabels) }

    /// Services whose selector picks Luminate pods.
    package var luminateServices: [ManifestObject] {
        let pods = luminatePodLabels
        return objects("Service").filter { service in
            let selector = LabelSelector(map: service[path: "spec.selector"])
            return !selector.isEmpty && pods.contains { selector.matches($0) }
        }
    }

    /// Total CPU (cores) and memory (bytes) the workloads request, replicas included.
    package var totalRequests: (cpu: Double, memory: Double) {
        var cpu = 0.0, memory = 0.0
        for workload in workloads where workload.replicas > 0 {
            for container in workload.containers where !container.isInit {
                cpu += (container.quantity("requests", "cpu")?.value ?? 0) * Double(workload.replicas)
                memory += (container.quantity("requests", "memory")?.value ?? 0) * Double(workload.replicas)
            }
        }
        return (cpu, memory)
    }
}
