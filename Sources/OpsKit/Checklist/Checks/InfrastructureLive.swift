import Foundation

/// The live side of INF-1 ... INF-5: ClickHouse's view of its cluster and of ZooKeeper, the
/// Kubernetes server and nodes, the load balancer's address and the certificates' expiry.
enum InfrastructureLive {
    /// ClickHouse error codes meaning "nobody answered at that address": socket timeout (209),
    /// network error (210), all connection tries failed (279).
    static let unreachableCodes: Set<Int> = [209, 210, 279]
    /// Codes meaning the host answered but refused the user: it is up.
    static let refusedCodes: Set<Int> = [192, 193, 194, 516]
    /// The guide renews certificates at least 30 days before they expire.
    static let certificateMarginDays = 30

    static func clickhouseHosts(_ scope: LiveScope) throws -> Finding {
        guard let cluster = scope.settings.clickhouseCluster else {
            return Finding(.live, .fail, "no ClickHouse cluster is configured (clickhouse.cluster is empty: a single server); the guide asks for at least \(InfrastructureChecks.minimumClickHouseNodes) nodes in a cluster",
                           fix: "set clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER) to the cluster of the servers' remote_servers")
        }
        let clickhouse = try scope.clickhouse()
        struct Host: Decodable {
            var shard_num: FlexibleUInt64
            var replica_num: FlexibleUInt64
            var host_name: String
            var host_address: String
            var port: FlexibleUInt64
        }
        let sql: SQLFragment = "SELECT shard_num, replica_num, host_name, host_address, port FROM system.clusters WHERE cluster = \(literal: cluster) ORDER BY shard_num, replica_num"
        let hosts = try clickhouse.query(sql, as: Host.self)
        guard !hosts.isEmpty else {
            return Finding(.live, .fail, "cluster '\(cluster)' is not in system.clusters of \(clickhouse.host)",
                           fix: "check clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER) against the servers' remote_servers")
        }
        var evidence: [String] = []
        var silent: [String] = []
        for host in hosts {
            let address = "\(host.host_address):\(host.port.value)"
            let name = "shard \(host.shard_num.value) replica \(host.replica_num.value): \(host.host_name) (\(address))"
            let probe: SQLFragment = "SELECT 1 AS ok FROM remote(\(literal: address), system, one)"
            do {
                _ = try clickhouse.raw(probe)
                evidence.append("\(name) answers")
            } catch ClickHouseError.server(let code, _, let message, _, _, _) where unreachableCodes.contains(code) {
                silent.append("\(name) does not answer (code \(code): \(message.prefix(120)))")
            } catch ClickHouseError.server(let code, _, _, _, _, _) where refusedCodes.contains(code) {
                evidence.append("\(name) answers (it refused the remote() user, code \(code))")
            }
        }
        if !silent.isEmpty {
            return Finding(.live, .fail, "\(silent.count) of \(hosts.count) hosts of cluster '\(cluster)' do not answer", evidence: silent + evidence,
                           fix: "start the silent nodes, or fix remote_servers addresses, interserver ports or network policies between them")
        }
        if hosts.count < InfrastructureChecks.minimumClickHouseNodes {
            return Finding(.live, .fail, "cluster '\(cluster)' has \(hosts.count) host(s) in system.clusters; the guide asks for at least \(InfrastructureChecks.minimumClickHouseNodes)", evidence: evidence)
        }
        return Finding(.live, .pass, "cluster '\(cluster)' has \(hosts.count) hosts in system.clusters, all answer", evidence: evidence)
    }

    static func zookeeper(_ scope: LiveScope) throws -> Finding {
        var parts: [Finding] = []
        do {
            let clickhouse = try scope.clickhouse()
            struct Node: Decodable { var name: String }
            let nodes = try clickhouse.query("SELECT name FROM system.zookeeper WHERE path = '/'" as SQLFragment, as: Node.self)
            parts.append(Finding(.live, .pass, "ClickHouse sees ZooKeeper",
                                 evidence: ["\(clickhouse.host): system.zookeeper / holds \(nodes.map(\.name).sorted().joined(separator: ", "))"]))
        } catch let skip as CheckSkipped {
            parts.append(Finding(.live, .skip, skip.reason, evidence: ["ClickHouse's view of ZooKeeper not checked: \(skip.reason)"]))
        } catch ClickHouseError.server(let code, _, let message, let host, _, _) {
            parts.append(Finding(.live, .fail, "ClickHouse cannot reach ZooKeeper", evidence: ["\(host): system.zookeeper failed with code \(code): \(message.prefix(200))"],
                                 fix: "check the <zookeeper> section of ClickHouse's configuration and that the ensemble is up"))
        }
        let selector = "app.kubernetes.io/name=zookeeper"
        let pods = try scope.kubectl().list("pods", selector: selector)
        let ready = pods.filter { pod in
            (pod[path: "status.conditions"]?.array ?? []).contains { $0["type"]?.string == "Ready" && $0["status"]?.string == "True" }
        }
        let podEvidence = pods.map { pod in "Pod/\(pod.namespace ?? scope.namespace)/\(pod.name ?? "?"): " + (ready.contains(pod) ? "Ready" : "not Ready") }
        if pods.isEmpty {
            parts.append(Finding(.live, .fail, "no ZooKeeper pods (\(selector)) in namespace \(scope.namespace)"))
        } else if ready.count < pods.count || ready.count < InfrastructureChecks.minimumZooKeeperNodes {
            parts.append(Finding(.live, .fail, "\(ready.count) of \(pods.count) ZooKeeper pods Ready; the ensemble needs \(InfrastructureChecks.minimumZooKeeperNodes) Ready", evidence: podEvidence))
        } else {
            parts.append(Finding(.live, .pass, "\(ready.count) ZooKeeper pods Ready", evidence: podEvidence))
        }
        return Finding.merge(parts, mode: .live)
    }

    static func kubernetes(_ scope: LiveScope) throws -> Finding {
        let kubectl = scope.kubectl()
        let versions = try kubectl.version()
        let minimum = scope.settings.minimumKubernetes
        var parts: [Finding] = []
        let versionText = "server \(versions.server.gitVersion), minimum \(minimum.major).\(minimum.minor)"
        if versions.server.isAtLeast(major: minimum.major, minor: minimum.minor) {
            parts.append(Finding(.live, .pass, "Kubernetes \(versions.server.gitVersion)", evidence: [versionText]))
        } else {
            parts.append(Finding(.live, .fail, "Kubernetes \(versions.server.gitVersion) is older than \(minimum.major).\(minimum.minor)", evidence: [versionText],
                                 fix: "upgrade the control plane to \(minimum.major).\(minimum.minor) or later"))
        }
        let nodes = try kubectl.nodes()
        let usable = nodes.filter { $0.isReady && $0.spec?.unschedulable != true }
        let cpu = usable.reduce(0) { $0 + ($1.allocatableCPU ?? 0) }
        let memory = usable.reduce(0) { $0 + ($1.allocatableMemory ?? 0) }
        let capacity = "\(usable.count) of \(nodes.count) nodes Ready and schedulable: \(cores(cpu)) CPU, \(gibibytes(memory)) memory allocatable"
        if let manifests = scope.manifests {
            let requests = manifests.totalRequests
            let wanted = "the manifests request \(cores(requests.cpu)) CPU and \(gibibytes(requests.memory)) memory"
            if requests.cpu > cpu || requests.memory > memory {
                parts.append(Finding(.live, .fail, "the nodes cannot hold what the manifests request", evidence: [capacity, wanted],
                                     fix: "add nodes (or larger ones) until allocatable CPU and memory exceed the requests, with room for a node failure"))
            } else {
                parts.append(Finding(.live, .pass, "the nodes can hold the manifests' requests", evidence: [capacity, wanted]))
            }
        } else {
            parts.append(Finding(.live, usable.isEmpty ? .fail : .pass, usable.isEmpty ? "no Ready, schedulable node" : capacity,
                                 evidence: [capacity, "no manifests given: capacity not compared with requests"]))
        }
        return Finding.merge(parts, mode: .live)
    }

    static func loadBalancerAddress(_ scope: LiveScope) throws -> Finding {
        let index = try scope.liveObjects(["deployments", "statefulsets", "services", "ingresses"])
        let exposures = index.luminateIngresses + index.luminateServices.filter { $0[path: "spec.type"]?.string == "LoadBalancer" }
        guard !exposures.isEmpty else {
            return Finding(.live, .fail, "no Ingress or LoadBalancer Service for Luminate in namespace \(scope.namespace)")
        }
        var evidence: [String] = []
        var waiting: [String] = []
        for object in exposures {
            let addresses = (object[path: "status.loadBalancer.ingress"]?.array ?? []).compactMap { $0["ip"]?.string ?? $0["hostname"]?.string }
            if addresses.isEmpty {
                waiting.append("\(object.reference): no address in status.loadBalancer.ingress")
            } else {
                evidence.append("\(object.reference): \(addresses.joined(separator: ", "))")
            }
        }
        if !waiting.isEmpty {
            return Finding(.live, .fail, "\(waiting.count) of \(exposures.count) Luminate entry points have no address", evidence: waiting + evidence,
                           fix: "check the ingress controller (or the cloud load-balancer integration) and the object's events")
        }
        return Finding(.live, .pass, "Luminate's entry points have addresses", evidence: evidence)
    }

    static func certificates(_ scope: LiveScope) throws -> Finding {
        let kubectl = scope.kubectl()
        let index = try scope.liveObjects(["deployments", "statefulsets", "services", "ingresses"])
        var secrets: [String] = []
        for ingress in index.luminateIngresses {
            for name in (ingress[path: "spec.tls"]?.array ?? []).compactMap({ $0["secretName"]?.string }) where !secrets.contains(name) {
                secrets.append(name)
            }
        }
        guard !secrets.isEmpty else {
            return Finding(.live, .fail, "no Luminate Ingress in namespace \(scope.namespace) names a TLS Secret")
        }
        let openssl = scope.tools.locate("openssl")
        var parts: [Finding] = []
        for name in secrets {
            let secret: KubeObject
            do {
                secret = try kubectl.get("secret", name)
            } catch let error as KubectlError where error.reason == .notFound {
                parts.append(Finding(.live, .fail, "TLS Secret \(name) does not exist", evidence: ["Secret/\(scope.namespace)/\(name): not found"]))
                continue
            }
            let data = secret[path: "data"]
            guard let encoded = data?["tls.crt"]?.string, let pem = Data(base64Encoded: encoded), data?["tls.key"] != nil else {
                parts.append(Finding(.live, .fail, "TLS Secret \(name) lacks tls.crt or tls.key", evidence: ["Secret/\(scope.namespace)/\(name): keys \(data?.object?.map(\.0).sorted().joined(separator: ", ") ?? "none")"]))
                continue
            }
            guard let openssl else {
                parts.append(Finding(.live, .warn, "openssl not installed: the expiry of \(name) was not checked", evidence: ["Secret/\(scope.namespace)/\(name): has tls.crt and tls.key"],
                                     fix: "install openssl (apt-get install openssl) where the checklist runs"))
                continue
            }
            let result = try scope.tools.run(ProcessRequest(openssl, ["x509", "-enddate", "-noout"], stdin: pem, timeout: scope.timeout))
            guard result.succeeded, let notAfter = parseEndDate(result.stdoutText) else {
                parts.append(Finding(.live, .fail, "tls.crt of \(name) is not a readable certificate",
                                     evidence: ["openssl x509: \(result.stderrText.split(separator: "\n").first ?? "no end date")"]))
                continue
            }
            let days = EvidenceDate.days(from: scope.settings.now, to: notAfter)
            let line = "Secret/\(scope.namespace)/\(name): certificate valid until \(EvidenceDate.day(notAfter)) (\(days) days)"
            if notAfter <= scope.settings.now {
                parts.append(Finding(.live, .fail, "the certificate in \(name) expired on \(EvidenceDate.day(notAfter))", evidence: [line]))
            } else if days < certificateMarginDays {
                parts.append(Finding(.live, .fail, "the certificate in \(name) expires within \(certificateMarginDays) days (\(EvidenceDate.day(notAfter)))", evidence: [line]))
            } else {
                parts.append(Finding(.live, .pass, "certificates valid for more than \(certificateMarginDays) days", evidence: [line]))
            }
        }
        return Finding.merge(parts, mode: .live)
    }

    /// `notAfter=Mar  1 12:00:00 2027 GMT` → the date.
    static func parseEndDate(_ output: String) -> Date? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("notAfter=") }) else { return nil }
        let text = line.dropFirst("notAfter=".count).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        return formatter.date(from: text)
    }

    static func cores(_ value: Double) -> String { String(format: "%.1f cores", value) }
    static func gibibytes(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / 1_073_741_824) }
}
