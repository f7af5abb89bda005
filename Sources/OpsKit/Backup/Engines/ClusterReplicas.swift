import Foundation

/// One server of a cluster, as `system.clusters` lists it.
package struct ClusterReplica: Sendable, Equatable, Decodable {
    package var shard: Int
    package var replica: Int
    /// As the cluster's config names it; `clickhouse-client` resolves it.
    package var host: String
    /// The native (TCP) port.
    package var port: Int

    package init(shard: Int, replica: Int, host: String, port: Int) {
        self.shard = shard
        self.replica = replica
        self.host = host
        self.port = port
    }

    /// `host:port`, an IPv6 address in brackets.
    package var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    enum CodingKeys: String, CodingKey {
        case shard = "shard_num", replica = "replica_num", host = "host_name", port
    }
}

/// The replica whose data a backup takes for one shard, and how it answered.
package struct ChosenReplica: Sendable {
    package var shard: Int
    package var replica: Int
    /// How many replicas the shard has.
    package var replicas: Int
    package var address: String
    package var client: ClickHouseNative
    /// `SELECT version()`, which also proved the replica reachable.
    package var serverVersion: String

    /// `shard 1 (127.0.0.1:9000)`: how steps and messages name it.
    package var label: String { "shard \(shard) (\(address))" }
}

/// Which servers a backup reads: one replica per shard of the cluster, replica 1 unless it does
/// not answer (replicas of a shard hold the same data; taking one keeps the backup to one copy).
package enum ClusterReplicas {
    /// One probe of one replica: its version, or why it did not answer.
    package struct Attempt: Sendable, Equatable {
        package var replica: ClusterReplica
        package var version: String?
        package var failure: String?

        var evidence: JSONValue {
            var entry: JSONValue = ["shard": .number(Double(replica.shard)), "replica": .number(Double(replica.replica)),
                                    "address": .string(replica.address)]
            if let version { entry.set("version", .string(version)) }
            if let failure { entry.set("failure", .string(failure)) }
            return entry
        }
    }

    /// `system.clusters` of one cluster, shards and replicas in order.
    package static func query(cluster: String) -> SQLFragment {
        "SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = \(literal: cluster) ORDER BY shard_num, replica_num"
    }

    /// Probes each shard's replicas in order and keeps the first that answers. A Ctrl-C during a
    /// probe stops everything rather than counting as an unreachable replica.
    package static func choose(
        _ replicas: [ClusterReplica], cluster: String, interrupt: Interrupt,
        client: (ClusterReplica) -> ClickHouseNative
    ) throws -> (chosen: [ChosenReplica], attempts: [Attempt]) {
        var chosen: [ChosenReplica] = []
        var attempts: [Attempt] = []
        let shards = Dictionary(grouping: replicas, by: \.shard)
        for shard in shards.keys.sorted() {
            let candidates = shards[shard]!.sorted { $0.replica < $1.replica }
            var failures: [String] = []
            for candidate in candidates {
                let native = client(candidate)
                do {
                    let version = try serverVersion(native)
                    attempts.append(Attempt(replica: candidate, version: version))
                    chosen.append(ChosenReplica(shard: shard, replica: candidate.replica, replicas: candidates.count,
                                                address: candidate.address, client: native, serverVersion: version))
                    break
                } catch {
                    if interrupt.isSet { throw error }
                    attempts.append(Attempt(replica: candidate, failure: String(describing: error)))
                    failures.append("replica \(candidate.replica) (\(candidate.address)): \(error)")
                }
            }
            guard chosen.last?.shard == shard else {
                throw FreezeBackupError.noReachableReplica(cluster: cluster, shard: shard, failures: failures)
            }
        }
        return (chosen, attempts)
    }

    /// `SELECT version()`, with a short limit: a replica that does not answer within it is
    /// passed over for the next one.
    package static func serverVersion(_ client: ClickHouseNative) throws -> String {
        struct Row: Decodable { var version: String }
        let rows = try client.query("SELECT version() AS version" as SQLFragment, as: Row.self, options: .init(timeout: 15))
        guard let version = rows.first?.version else {
            throw ClickHouseError.unexpectedResponse(host: client.endpoint.address, queryID: nil, status: nil, detail: "version() answered no rows")
        }
        return version
    }
}
