import Foundation

/// Infrastructure (INF-1 ... INF-5): ClickHouse, ZooKeeper, the Kubernetes cluster, the load
/// balancer and TLS certificates.
enum InfrastructureChecks {
    static let all = [clickhouseCluster, zookeeperEnsemble, kubernetesRequirements, loadBalancer, tlsCertificates]

    /// The guide: a ClickHouse cluster of at least 4 nodes (2 shards × 2 replicas).
    static let minimumClickHouseNodes = 4
    static let minimumZooKeeperNodes = 3

    static let clickhouseCluster = ChecklistCheck(
        "INF-1", "ClickHouse cluster deployed (minimum 4 nodes)", section: .infrastructure,
        explanation: CheckExplanation(
            what: "Luminate's data lives in a replicated ClickHouse cluster of at least 4 nodes: 2 shards, each with 2 replicas.",
            why: "Two replicas per shard keep every shard readable and writable while one node is down for an upgrade or a failure; two shards split the write load. Fewer nodes means a single failure stops ingestion or loses data.",
            how: "Static: adds up shards × replicas of every cluster of each Altinity ClickHouseInstallation (spec.configuration.clusters[].layout), and the replicas of StatefulSets labelled app.kubernetes.io/name: clickhouse; at least 4. Live: reads system.clusters for the configured cluster (clickhouse.cluster), expects at least 4 hosts, and asks each host to answer through remote().",
            fix: "Give the ClickHouseInstallation layout shardsCount: 2 and replicasCount: 2 (or four ClickHouse StatefulSet replicas), apply, and check that every host in system.clusters is reachable from the others (remote_servers addresses, interserver ports, network policies)."),
        staticRule: { scope in try clickhouseNodes(scope.manifests()) },
        liveProbe: { scope in try InfrastructureLive.clickhouseHosts(scope) })

    static let zookeeperEnsemble = ChecklistCheck(
        "INF-2", "ZooKeeper ensemble running (3 nodes)", section: .infrastructure,
        explanation: CheckExplanation(
            what: "A ZooKeeper ensemble of 3 nodes (an odd number, at least 3) coordinates ClickHouse replication and distributed DDL.",
            why: "ZooKeeper needs a majority to work: 3 nodes survive one failure; 2 nodes survive none and 4 survive no more than 3. Without ZooKeeper, replicated tables turn read-only.",
            how: "Static: the replicas of StatefulSets labelled app.kubernetes.io/name: zookeeper (or, without one, the nodes a ClickHouseInstallation lists under spec.configuration.zookeeper.nodes) must be odd and at least 3. Live: ClickHouse reads system.zookeeper, and the pods labelled app.kubernetes.io/name: zookeeper are all Ready, at least 3 of them.",
            fix: "Run ZooKeeper as a StatefulSet with replicas: 3 (labelled app.kubernetes.io/name: zookeeper) and point ClickHouse's <zookeeper> configuration at all three nodes."),
        staticRule: { scope in try zookeeperNodes(scope.manifests()) },
        liveProbe: { scope in try InfrastructureLive.zookeeper(scope) })

    static let kubernetesRequirements = ChecklistCheck(
        "INF-3", "Kubernetes cluster meets requirements", section: .infrastructure,
        explanation: CheckExplanation(
            what: "The Kubernetes cluster runs a supported version (at least checklist.minKubernetesVersion, 1.28 by default) and its nodes can hold what the manifests request.",
            why: "Older API servers lack the APIs the manifests use (autoscaling/v2, policy/v1); a cluster without room for the requested CPU and memory leaves pods Pending at the worst moment: during a failover or a scale-out.",
            how: "Live: the server version from kubectl version; the allocatable CPU and memory of the Ready, schedulable nodes against the total requests (containers × replicas) of the manifests, when the run has manifests.",
            fix: "Upgrade the control plane to a supported version, or add nodes (or larger ones) until allocatable capacity exceeds the manifests' requests with room for a node failure."),
        liveProbe: { scope in try InfrastructureLive.kubernetes(scope) })

    static let loadBalancer = ChecklistCheck(
        "INF-4", "Load balancer configured", section: .infrastructure,
        explanation: CheckExplanation(
            what: "Luminate is reachable from outside the cluster through an Ingress or a Service of type LoadBalancer.",
            why: "Writers and dashboards reach Luminate through one stable address that spreads load across its pods and stops sending traffic to pods that fail readiness.",
            how: "Static: an Ingress routes to a Service that selects Luminate's pods (app.kubernetes.io/name: luminate), or such a Service has type LoadBalancer. Live: that Ingress or Service has an address in status.loadBalancer.ingress.",
            fix: "Add an Ingress for Luminate's Service (or make the Service type LoadBalancer); if it has no address, check the ingress controller or the cloud load-balancer integration."),
        staticRule: { scope in try exposure(scope.manifests()) },
        liveProbe: { scope in try InfrastructureLive.loadBalancerAddress(scope) })

    static let tlsCertificates = ChecklistCheck(
        "INF-5", "TLS certificates provisioned", section: .infrastructure,
        explanation: CheckExplanation(
            what: "Luminate's Ingress terminates TLS with a certificate kept in a Secret, valid for more than 30 days.",
            why: "Clients refuse an expired certificate: an expiry stops all ingestion at once. Thirty days leave time to renew even when automation failed.",
            how: "Static: every Ingress routing to Luminate has spec.tls entries with a secretName. Live: each such Secret exists with tls.crt and tls.key, and `openssl x509 -enddate` on tls.crt says it does not expire within 30 days. Secret values are never printed.",
            fix: "Add spec.tls with secretName to the Ingress and provision the Secret (cert-manager, or a SealedSecret/ExternalSecret); renew a certificate that expires within 30 days."),
        staticRule: { scope in try tlsSecrets(scope.manifests()) },
        liveProbe: { scope in try InfrastructureLive.certificates(scope) })

    // MARK: - Static rules

    static func clickhouseNodes(_ index: ManifestIndex) -> Finding {
        var evidence: [String] = []
        var hosts = 0
        for installation in index.objects("ClickHouseInstallation") {
            for cluster in ClickHouseLayout(installation: installation).clusters {
                evidence.append("\(installation.reference): cluster \(cluster.name), \(cluster.shards) shard(s), \(cluster.hosts) host(s)")
                hosts += cluster.hosts
            }
        }
        for workload in index.workloads where workload.object.kind == "StatefulSet" && workload.isClickHouse {
            evidence.append("\(workload.reference): \(workload.replicas) replica(s)")
            hosts += workload.replicas
        }
        if evidence.isEmpty {
            return Finding(.static, .fail, "no ClickHouse in the manifests: no ClickHouseInstallation and no StatefulSet labelled app.kubernetes.io/name: clickhouse")
        }
        if hosts < minimumClickHouseNodes {
            return Finding(.static, .fail, "\(hosts) ClickHouse node(s); the guide asks for at least \(minimumClickHouseNodes) (2 shards × 2 replicas)", evidence: evidence)
        }
        return Finding(.static, .pass, "\(hosts) ClickHouse nodes (at least \(minimumClickHouseNodes))", evidence: evidence)
    }

    static func zookeeperNodes(_ index: ManifestIndex) -> Finding {
        var evidence: [String] = []
        var nodes = 0
        for workload in index.workloads where workload.isZooKeeper && ["StatefulSet", "Deployment"].contains(workload.object.kind) {
            evidence.append("\(workload.reference): \(workload.replicas) replica(s)")
            nodes += workload.replicas
        }
        var external = false
        if evidence.isEmpty {
            for installation in index.objects("ClickHouseInstallation") {
                if let listed = installation[path: "spec.configuration.zookeeper.nodes"]?.array, !listed.isEmpty {
                    evidence.append("\(installation.reference): spec.configuration.zookeeper.nodes lists \(listed.count) node(s) (not deployed by these manifests)")
                    nodes += listed.count
                    external = true
                }
            }
        }
        if evidence.isEmpty {
            return Finding(.static, .fail, "no ZooKeeper in the manifests: no StatefulSet labelled app.kubernetes.io/name: zookeeper")
        }
        if nodes < minimumZooKeeperNodes {
            return Finding(.static, .fail, "a ZooKeeper ensemble of \(nodes) node(s); it needs at least \(minimumZooKeeperNodes) to survive a failure", evidence: evidence)
        }
        if nodes % 2 == 0 {
            return Finding(.static, .fail, "a ZooKeeper ensemble of \(nodes) nodes: an even ensemble survives no more failures than \(nodes - 1) nodes; use an odd number", evidence: evidence)
        }
        return Finding(.static, .pass, "a ZooKeeper ensemble of \(nodes) nodes" + (external ? " (external)" : ""), evidence: evidence)
    }

    static func exposure(_ index: ManifestIndex) -> Finding {
        guard !index.luminateWorkloads.isEmpty else {
            return Finding(.static, .fail, "no Luminate workload in the manifests (nothing labelled app.kubernetes.io/name: luminate)")
        }
        let services = index.luminateServices
        let ingresses = index.luminateIngresses
        let balancers = services.filter { $0[path: "spec.type"]?.string == "LoadBalancer" }
        var evidence = ingresses.map { "\($0.reference): routes to \($0.ingressBackendServices.sorted().joined(separator: ", "))" }
        evidence += balancers.map { "\($0.reference): type LoadBalancer" }
        if evidence.isEmpty {
            let shown = services.map { "\($0.reference): type \($0[path: "spec.type"]?.string ?? "ClusterIP"), no Ingress routes to it" }
            return Finding(.static, .fail, "Luminate is not exposed: no Ingress routes to a Luminate Service and no Luminate Service has type LoadBalancer",
                           evidence: shown.isEmpty ? ["no Service selects Luminate's pods"] : shown)
        }
        return Finding(.static, .pass, "Luminate is exposed through " + (ingresses.isEmpty ? "a LoadBalancer Service" : "an Ingress"), evidence: evidence)
    }

    static func tlsSecrets(_ index: ManifestIndex) -> Finding {
        let ingresses = index.luminateIngresses
        guard !ingresses.isEmpty else {
            return Finding(.static, .fail, "no Ingress routes to Luminate, so nothing terminates TLS for it",
                           fix: "expose Luminate through an Ingress with spec.tls (see INF-4)")
        }
        var evidence: [String] = []
        var missing: [String] = []
        for ingress in ingresses {
            let tls = ingress[path: "spec.tls"]?.array ?? []
            let secrets = tls.compactMap { $0["secretName"]?.string }
            if tls.isEmpty {
                missing.append("\(ingress.reference): no spec.tls")
            } else if secrets.count < tls.count {
                missing.append("\(ingress.reference): a spec.tls entry without secretName")
            } else {
                evidence.append("\(ingress.reference): TLS from Secret \(secrets.joined(separator: ", "))")
            }
        }
        if !missing.isEmpty {
            return Finding(.static, .fail, "\(missing.count) Luminate Ingress(es) without a TLS certificate Secret", evidence: missing + evidence)
        }
        return Finding(.static, .pass, "every Luminate Ingress names its certificate Secret", evidence: evidence)
    }
}
