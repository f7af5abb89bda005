import Foundation
import Synchronization

/// The data-corruption probes against ClickHouse, all over the environment's one HTTP connection
/// so that a tick spawns no process.
///
/// The built-in probes need every replica of every shard: replicas each keep their own
/// `system.replicas`, `system.replication_queue` and parts. 18.16 has no `clusterAllReplicas`,
/// and `system.clusters` names replicas by their native port only, so the configured server asks
/// each replica itself with the `remote('host:port', system.table)` table function: one HTTP
/// request per replica, all at once, each a native connection from that server (about 7 ms a
/// replica on the sandbox, against 40 ms and more for a `clickhouse-client` process each).
/// `remote()` without credentials connects as the cluster's `default` user, as ClickHouse's own
/// inter-node traffic does in the usual cluster setup; no password is ever written into SQL,
/// where `system.query_log` would keep it. A replica that does not answer makes its probes
/// inconclusive, not clear.
package struct ClickHouseCorruptionSource: CorruptionSource {
    /// The probes to run (`policy.rollback.corruption`).
    package var probes: CorruptionProbes
    package var server: ClickHouseHTTP
    /// `clickhouse.cluster`; nil for a single server, which is probed locally.
    package var cluster: String?
    /// A partition is compared across replicas once nothing was written or merged into it for
    /// this long (the guide: older than 1 hour).
    package var settledAfter: Double = 3600
    /// A replication queue entry is a finding once it has existed this long and its last attempt
    /// failed (the guide: failing for more than 10 minutes).
    package var failingFor: Double = 600
    /// Findings shown per probe; the rest are counted.
    package var findingsLimit = 20

    /// The server's version and the cluster's replicas, asked on the first probe that reaches the
    /// server and kept: a tick does not ask again. Shared by copies.
    private let known: TopologyMemo

    /// Learns the topology on the first probe.
    package init(probes: CorruptionProbes, server: ClickHouseHTTP, cluster: String?) {
        self.probes = probes
        self.server = server
        self.cluster = cluster
        known = TopologyMemo(nil)
    }

    /// With the topology already known (tests, or a caller that listed the replicas itself).
    package init(probes: CorruptionProbes, server: ClickHouseHTTP, replicas: [ClusterReplica], version: ClickHouseVersion) {
        self.probes = probes
        self.server = server
        self.cluster = replicas.isEmpty ? nil : "given"
        known = TopologyMemo(Topology(version: version, replicas: replicas))
    }

    /// `SELECT version()` gates the detached-parts probe; `system.clusters` lists the replicas.
    package struct Topology: Sendable, Equatable {
        package var version: ClickHouseVersion
        /// Every replica of the cluster; empty for a single server.
        package var replicas: [ClusterReplica]
    }

    /// The version and replicas, from the server the first time.
    package func topology() throws -> Topology {
        if let topology = known.value { return topology }
        let version = try server.version()
        var replicas: [ClusterReplica] = []
        if let cluster, probes.defaults {
            replicas = try server.query(ClusterReplicas.query(cluster: cluster), as: ClusterReplica.self, options: .init(timeout: 10))
            guard !replicas.isEmpty else {
                throw ValidationError("cluster '\(cluster)' is not in system.clusters on \(server.host)",
                                      hint: "check clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER); an empty value means a single server")
            }
        }
        let topology = Topology(version: version, replicas: replicas)
        known.value = topology
        return topology
    }

    // MARK: - Probe names

    package static let readOnlyReplicas = "read-only-replicas"
    package static let replicationQueue = "replication-queue"
    package static let replicaAgreement = "replica-agreement"
    package static let brokenDetachedParts = "broken-detached-parts"

    // MARK: - SQL (pure, for tests and plans)

    /// One replica's built-in probes in one statement: every row is `probe, database, table,
    /// partition, rows, detail`. `source` is `remote('h:p', system.x)` or `system.x` itself.
    package func sweepSQL(replica: ClusterReplica?, version: ClickHouseVersion) -> String {
        func from(_ table: String) -> String {
            guard let replica else { return "system.\(table)" }
            return "remote(\(SQL.string(replica.address).sql), system.\(table))"
        }
        var parts = [
            """
            SELECT 'rows' AS probe, database, table, partition_id AS partition, sum(rows) AS rows, \
            toString(max(modification_time) < now() - INTERVAL \(Int(settledAfter)) SECOND) AS detail \
            FROM \(from("parts")) WHERE active AND startsWith(engine, 'Replicated') GROUP BY database, table, partition_id
            """,
            """
            SELECT 'read-only', database, table, '', toUInt64(0), replica_name \
            FROM \(from("replicas")) WHERE is_readonly
            """,
            """
            SELECT 'queue', database, table, '', toUInt64(num_tries), \
            concat(type, ' ', new_part_name, ' since ', toString(create_time), ': ', last_exception) \
            FROM \(from("replication_queue")) WHERE last_exception != '' AND create_time < now() - INTERVAL \(Int(failingFor)) SECOND
            """,
        ]
        if version.supportsSystemDetachedParts {
            // Reasons as ClickHouse names them: broken, broken-on-start, broken-from-backup and
            // covered-by-broken; a part an operator detached by hand has an empty reason.
            parts.append("""
                SELECT 'detached', database, table, toString(ifNull(partition_id, '')), toUInt64(0), concat(name, ' (', reason, ')') \
                FROM \(from("detached_parts")) WHERE startsWith(reason, 'broken') OR reason = 'covered-by-broken'
                """)
        }
        return parts.joined(separator: "\nUNION ALL\n")
    }

    // MARK: - Running

    /// A row of the sweep.
    struct SweepRow: Decodable, Sendable {
        var probe: String
        var database: String
        var table: String
        var partition: String
        var rows: FlexibleUInt64
        var detail: String
    }

    /// What a probe task produced.
    private enum Task: Sendable {
        case sweep(ClusterReplica?)
        case configured(CorruptionProbes.Probe)
    }

    private enum Answer: Sendable {
        case sweep(ClusterReplica?, Result<[SweepRow], ProbeFailure>)
        case configured(ProbeOutcome)
    }

    /// An error as text, so results cross threads as plain values.
    private struct ProbeFailure: Error, Sendable { var text: String }

    package func probe() throws -> [ProbeOutcome] {
        let topology = probes.defaults ? try self.topology() : Topology(version: ClickHouseVersion(0, 0), replicas: [])
        let replicas = topology.replicas
        var tasks: [Task] = probes.probes.map { .configured($0) }
        if probes.defaults { tasks += replicas.isEmpty ? [.sweep(nil)] : replicas.map { .sweep($0) } }
        let answers = try parallelMap(tasks, width: max(1, tasks.count)) { task -> Answer in
            switch task {
            case .sweep(let replica):
                do {
                    let rows = try server.query(sweepSQL(replica: replica, version: topology.version), as: SweepRow.self, options: .init(timeout: 10))
                    return .sweep(replica, .success(rows))
                } catch {
                    var text = Self.oneLine(error)
                    // The server passes the replica's refusal on as its own 401, which reads as
                    // our password being wrong: it is remote()'s `default` user that was refused.
                    if replica != nil, case .authentication(_, _, let code, _)? = error as? ClickHouseError {
                        text = "refused the user default that remote() connects as (code \(code)): "
                            + "allow it from \(server.host), as ClickHouse's own inter-node queries need, "
                            + "or set clickhouse.cluster empty to probe \(server.host) alone"
                    }
                    return .sweep(replica, .failure(ProbeFailure(text: text)))
                }
            case .configured(let probe):
                return .configured(runConfigured(probe))
            }
        }
        var sweeps: [(ClusterReplica?, Result<[SweepRow], ProbeFailure>)] = []
        var configured: [ProbeOutcome] = []
        for answer in answers {
            switch answer {
            case .sweep(let replica, let result): sweeps.append((replica, result))
            case .configured(let outcome): configured.append(outcome)
            }
        }
        return (probes.defaults ? builtInOutcomes(sweeps, topology: topology) : []) + configured
    }

    /// A configured probe: its rows, if any, are the findings.
    private func runConfigured(_ probe: CorruptionProbes.Probe) -> ProbeOutcome {
        do {
            let result = try server.result(probe.query, as: JSONValue.self, options: .init(timeout: 10, responseLimit: 1 << 20))
            var findings = result.data.prefix(findingsLimit).map(Self.describeRow)
            if result.rows > findingsLimit { findings.append("... and \(result.rows - findingsLimit) more rows") }
            return ProbeOutcome(probe: probe.name, findings: findings, checked: "query returned \(result.rows) rows on \(server.host)")
        } catch {
            return ProbeOutcome(probe: probe.name, error: Self.oneLine(error))
        }
    }

    private func builtInOutcomes(_ sweeps: [(ClusterReplica?, Result<[SweepRow], ProbeFailure>)], topology: Topology) -> [ProbeOutcome] {
        let (version, replicas) = (topology.version, topology.replicas)
        var readOnly: [String] = [], queue: [String] = [], detached: [String] = [], failures: [String] = []
        var partitions: [ReplicaPartitions] = []
        for (replica, result) in sweeps {
            let address = replica?.address ?? server.host
            switch result {
            case .failure(let failure):
                failures.append("\(address): \(failure.text)")
            case .success(let rows):
                var settled: [ReplicaPartitions.Partition] = []
                for row in rows {
                    let table = "\(row.database).\(row.table)"
                    switch row.probe {
                    case "rows":
                        settled.append(.init(table: table, partition: row.partition, rows: row.rows.value, settled: row.detail == "1"))
                    case "read-only":
                        readOnly.append("\(table) on \(address) (replica \(row.detail)) is read-only")
                    case "queue":
                        queue.append("\(table) on \(address): \(row.rows.value) tries of \(Self.firstLine(row.detail))")
                    default:
                        detached.append("\(table) on \(address): detached part \(row.detail)")
                    }
                }
                if let replica { partitions.append(ReplicaPartitions(shard: replica.shard, address: address, partitions: settled)) }
            }
        }
        let error = failures.isEmpty ? nil : failures.joined(separator: "; ")
        let scope = replicas.isEmpty ? "on \(server.host)" : "on \(sweeps.count - failures.count) of \(replicas.count) replicas"
        var outcomes = [
            ProbeOutcome(probe: Self.readOnlyReplicas, findings: limit(readOnly), error: error, checked: "system.replicas \(scope)"),
            ProbeOutcome(probe: Self.replicationQueue, findings: limit(queue), error: error,
                         checked: "system.replication_queue \(scope), entries failing for over \(DurationParser.format(failingFor))"),
        ]
        if replicas.isEmpty {
            outcomes.append(ProbeOutcome(probe: Self.replicaAgreement, checked: "a single server: no replicas to compare"))
        } else {
            let agreement = ReplicaAgreement.compare(partitions)
            outcomes.append(ProbeOutcome(
                probe: Self.replicaAgreement, findings: limit(agreement.findings), error: error,
                checked: "\(agreement.compared) partitions settled for \(DurationParser.format(settledAfter)) compared on \(agreement.shards) shards"))
        }
        if version.supportsSystemDetachedParts {
            outcomes.append(ProbeOutcome(probe: Self.brokenDetachedParts, findings: limit(detached), error: error,
                                         checked: "system.detached_parts \(scope)"))
        } else {
            outcomes.append(ProbeOutcome(probe: Self.brokenDetachedParts,
                                         checked: "not available on ClickHouse \(version) (system.detached_parts came in 19.8)"))
        }
        return outcomes
    }

    private func limit(_ findings: [String]) -> [String] {
        findings.count <= findingsLimit ? findings : Array(findings.prefix(findingsLimit)) + ["... and \(findings.count - findingsLimit) more"]
    }

    /// `database=luminate, table=metrics_local, rows=3`.
    static func describeRow(_ row: JSONValue) -> String {
        guard let entries = row.object else { return row.rendered() }
        return entries.map { key, value in "\(key)=\(value.string ?? value.rendered())" }.joined(separator: ", ")
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
        return line.count > 300 ? String(line.prefix(297)) + "..." : line
    }

    static func oneLine(_ error: any Error) -> String { firstLine(Redactor.redact(String(describing: error))) }
}

/// The topology once learnt, shared by copies of the source.
private final class TopologyMemo: Sendable {
    private let state: Mutex<ClickHouseCorruptionSource.Topology?>
    init(_ value: ClickHouseCorruptionSource.Topology?) { state = Mutex(value) }
    var value: ClickHouseCorruptionSource.Topology? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
