import Foundation

/// One ClickHouse server a restore talks to: the HTTP client for a single server, or
/// `clickhouse-client` for a replica of a cluster. Both already speak typed SQL; this is only the
/// part of them a restore needs, so plans and engines can be tested with a fake.
package protocol RestoreSQL: Sendable {
    /// `host:port`, as messages name the server.
    var address: String { get }
    func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type, options: ClickHouseQueryOptions) throws -> [Row]
    func execute(_ sql: SQLFragment, options: ClickHouseQueryOptions) throws
    /// The same server through a client that Ctrl-C does not cut short.
    func uninterruptible() -> any RestoreSQL
}

extension RestoreSQL {
    package func query<Row: Decodable>(_ sql: SQLFragment, as type: Row.Type) throws -> [Row] {
        try query(sql, as: type, options: .init())
    }

    package func execute(_ sql: SQLFragment) throws { try execute(sql, options: .init()) }
}

extension ClickHouseHTTP: RestoreSQL {
    package var address: String { host }
    package func uninterruptible() -> any RestoreSQL { ignoringInterrupt() }
}

extension ClickHouseNative: RestoreSQL {
    package var address: String { endpoint.address }
    package func uninterruptible() -> any RestoreSQL { ignoringInterrupt() }
}

/// One shard as a restore sees it: the replica that loads and swaps the data (replication carries
/// a `REPLACE PARTITION` to the others), and every replica, for DDL and for checking afterwards.
package struct RestoreShard: Sendable {
    package var shard: Int
    package var primary: any RestoreSQL
    /// Every replica of the shard, `primary` first.
    package var replicas: [any RestoreSQL]

    package init(shard: Int, primary: any RestoreSQL, replicas: [any RestoreSQL]) {
        self.shard = shard
        self.primary = primary
        self.replicas = replicas
    }

    /// `shard 1 (127.0.0.1:9000)`.
    package var label: String { "shard \(shard) (\(primary.address))" }
}

/// Where a restore runs: the one server (shard 1), or each shard of the cluster.
package struct RestoreServers: Sendable {
    /// The ClickHouse cluster's name; nil for a single server.
    package var cluster: String?
    package var shards: [RestoreShard]

    package init(cluster: String?, shards: [RestoreShard]) {
        self.cluster = cluster
        self.shards = shards
    }

    /// A single server: one shard, one replica.
    package static func single(_ server: any RestoreSQL) -> RestoreServers {
        RestoreServers(cluster: nil, shards: [RestoreShard(shard: 1, primary: server, replicas: [server])])
    }

    /// Every server of every shard.
    package var everyReplica: [any RestoreSQL] { shards.flatMap(\.replicas) }

    /// What the plan says it works on.
    package var summary: String {
        guard let cluster else { return "server \(shards.first?.primary.address ?? "?")" }
        return "cluster \(cluster): " + shards.map { "shard \($0.shard) via \($0.primary.address) (\($0.replicas.count) replicas)" }.joined(separator: ", ")
    }
}
