import Foundation

/// Something that runs pods: a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
/// bare Pod, or a pod template of an Altinity ClickHouseInstallation. Checks read pod labels,
/// containers, service accounts and replica counts through this one view instead of knowing
/// where each kind keeps its template.
package struct Workload: Sendable {
    package var object: ManifestObject
    /// The pod template's metadata and spec (`spec.template`, `spec.jobTemplate.spec.template`, ...).
    package var podMetadata: JSONValue?
    package var podSpec: JSONValue
    /// How many pods the workload asks for (1 for a DaemonSet, a Job or a Pod).
    package var replicas: Int
    /// For a ClickHouseInstallation pod template: the template's name.
    package var templateName: String?

    /// Labels of the pods, with the labels a controller adds that selectors rely on.
    package var podLabels: [String: String]

    package var containers: [Container] {
        let main = (podSpec["containers"]?.array ?? []).map { Container(json: $0, isInit: false) }
        let initial = (podSpec["initContainers"]?.array ?? []).map { Container(json: $0, isInit: true) }
        return main + initial
    }

    /// `serviceAccountName` (or the deprecated `serviceAccount`); nil means `default`.
    package var serviceAccountName: String? {
        podSpec["serviceAccountName"]?.string ?? podSpec["serviceAccount"]?.string
    }

    /// `automountServiceAccountToken` of the pod spec, when set.
    package var automountToken: Bool? { podSpec["automountServiceAccountToken"]?.bool }

    package var podAnnotations: [String: String] { ManifestObject.stringMap(podMetadata?["annotations"]) }

    /// `Deployment/luminate/luminate (file:line)`, plus the template for a ClickHouseInstallation.
    package var reference: String {
        guard let templateName else { return object.reference }
        return "\(object.identity) pod template \(templateName) (\(object.location))"
    }

    /// Whether this is Luminate: `app.kubernetes.io/name: luminate` on the object or its pods.
    package var isLuminate: Bool { object.isApp("luminate") || podLabels["app.kubernetes.io/name"] == "luminate" }

    /// Whether this runs ClickHouse server pods.
    package var isClickHouse: Bool {
        object.kind == "ClickHouseInstallation" || object.isApp("clickhouse") || podLabels["app.kubernetes.io/name"] == "clickhouse"
    }

    package var isZooKeeper: Bool { object.isApp("zookeeper") || podLabels["app.kubernetes.io/name"] == "zookeeper" }

    /// The workloads an object defines (none for kinds that run no pods).
    package static func workloads(of object: ManifestObject) -> [Workload] {
        let spec = object["spec"]
        func make(_ template: JSONValue?, replicas: Int) -> [Workload] {
            guard let template, let podSpec = template["spec"] else { return [] }
            let labels = ManifestObject.stringMap(template[path: "metadata.labels"])
            return [Workload(object: object, podMetadata: template["metadata"], podSpec: podSpec, replicas: replicas, podLabels: labels)]
        }
        switch object.kind {
        case "Deployment", "StatefulSet", "ReplicaSet":
            return make(spec?["template"], replicas: spec?["replicas"]?.int ?? 1)
        case "DaemonSet":
            return make(spec?["template"], replicas: 1)
        case "Job":
            return make(spec?["template"], replicas: spec?["parallelism"]?.int ?? 1)
        case "CronJob":
            let job = spec?[path: "jobTemplate.spec"]
            return make(job?["template"], replicas: job?["parallelism"]?.int ?? 1)
        case "Pod":
            guard let spec else { return [] }
            return [Workload(object: object, podMetadata: object["metadata"], podSpec: spec, replicas: 1, podLabels: object.labels)]
        case "ClickHouseInstallation":
            return clickHouseInstallation(object)
        default:
            return []
        }
    }

    /// An Altinity ClickHouseInstallation: its pod templates, the default one carrying every host.
    private static func clickHouseInstallation(_ object: ManifestObject) -> [Workload] {
        let templates = object[path: "spec.templates.podTemplates"]?.array ?? []
        let hosts = ClickHouseLayout(installation: object).hosts
        let defaultName = object[path: "spec.defaults.templates.podTemplate"]?.string ?? templates.first?["name"]?.string
        return templates.compactMap { template in
            guard let podSpec = template["spec"] else { return nil }
            let name = template["name"]?.string ?? "(unnamed)"
            var labels = ManifestObject.stringMap(template[path: "metadata.labels"])
            // The operator labels every pod with the installation's name.
            labels["clickhouse.altinity.com/chi"] = object.name
            labels["clickhouse.altinity.com/app"] = "chop"
            return Workload(
                object: object, podMetadata: template["metadata"], podSpec: podSpec,
                replicas: name == defaultName ? hosts : 0, templateName: name, podLabels: labels)
        }
    }
}

/// One container of a workload's pod template.
package struct Container: Sendable {
    package var json: JSONValue
    package var isInit: Bool

    package var name: String { json["name"]?.string ?? "(unnamed)" }
    package var env: [JSONValue] { json["env"]?.array ?? [] }
    package var envFrom: [JSONValue] { json["envFrom"]?.array ?? [] }

    /// A resource quantity from `resources.requests` or `resources.limits`.
    package func quantity(_ section: String, _ resource: String) -> KubeQuantity? {
        guard let value = json[path: "resources.\(section)"]?[resource] else { return nil }
        switch value {
        case .string(let text): return KubeQuantity(text)
        case .number: return KubeQuantity(value.rendered())
        default: return nil
        }
    }
}

/// The size of an Altinity ClickHouseInstallation: for each cluster of its
/// `spec.configuration.clusters`, shards × replicas (`layout.shardsCount` × `layout.replicasCount`,
/// or explicit `layout.shards[]` with their own `replicasCount` or `replicas[]`).
package struct ClickHouseLayout: Sendable {
    package struct Cluster: Sendable, Equatable {
        package var name: String
        package var shards: Int
        package var hosts: Int
    }

    package var clusters: [Cluster]

    package var hosts: Int { clusters.reduce(0) { $0 + $1.hosts } }

    package init(installation object: ManifestObject) {
        clusters = (object[path: "spec.configuration.clusters"]?.array ?? []).map { cluster in
            let layout = cluster["layout"]
            let defaultReplicas = layout?["replicasCount"]?.int ?? 1
            if let shards = layout?["shards"]?.array, !shards.isEmpty {
                let hosts = shards.reduce(0) { total, shard in
                    total + (shard["replicas"]?.array?.count ?? shard["replicasCount"]?.int ?? defaultReplicas)
                }
                return Cluster(name: cluster["name"]?.string ?? "(unnamed)", shards: shards.count, hosts: hosts)
            }
            let shards = layout?["shardsCount"]?.int ?? 1
            return Cluster(name: cluster["name"]?.string ?? "(unnamed)", shards: shards, hosts: shards * defaultReplicas)
        }
    }
}
