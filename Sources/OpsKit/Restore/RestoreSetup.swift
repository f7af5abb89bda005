import Foundation

/// What every restore command needs, built from the environment's configuration: the backup
/// store and its catalogue (as `backup` builds them), the servers to restore into, and the engine
/// that reads the chosen backup back.
package struct RestoreSetup: Sendable {
    package let backup: BackupSetup
    package var configuration: Configuration { backup.configuration }
    package var context: Context { backup.context }
    package var connections: Connections { backup.connections }

    package init(configuration: Configuration, context: Context) {
        backup = BackupSetup(configuration: configuration, context: context)
    }

    /// The engine that reads a backup back is the one that wrote it.
    package func engine(for manifest: BackupManifest) throws -> any RestoreEngine {
        switch manifest.engine {
        case .native:
            return NativeRestoreEngine(clickhouse: try connections.clickhouse(), disk: configuration.backup.disk.value,
                                       diskPath: configuration.backup.diskPath.value)
        case .freeze:
            return FreezeRestoreEngine(context: context)
        }
    }

    /// The servers a restore of `manifest` works on. A single server is reached over HTTP, whichever
    /// engine (the freeze engine needs the server's disk, not its native protocol, and a
    /// `clickhouse-client` process per statement cost a 10-million-row restore 2.3 times a
    /// hand-written one); a cluster goes to every replica with `clickhouse-client`, because
    /// `system.clusters` names replicas by their native port only.
    package func servers(for manifest: BackupManifest) throws -> RestoreServers {
        try servers(engine: manifest.engine)
    }

    package func servers(engine: BackupEngineKind) throws -> RestoreServers {
        guard let cluster = configuration.clickhouseCluster.value else {
            if engine == .freeze, configuration.clickhouseURL == nil { return .single(try connections.clickhouseNative()) }
            return .single(try connections.clickhouse())
        }
        let server = try connections.clickhouseNative()
        let listed = try server.query(ClusterReplicas.query(cluster: cluster), as: ClusterReplica.self)
        guard !listed.isEmpty else {
            throw ValidationError("cluster '\(cluster)' is not in system.clusters on \(server.endpoint.address)",
                                  hint: "check clickhouse.cluster (LUMINATECTL_CLICKHOUSE_CLUSTER); an empty value means a single server")
        }
        let client: (ClusterReplica) -> ClickHouseNative = { replica in
            var endpoint = server.endpoint
            endpoint.host = replica.host
            endpoint.port = replica.port
            return ClickHouseNative(endpoint: endpoint, context: context)
        }
        // The first replica of each shard that answers loads and swaps; replication carries the
        // result to the others, which are checked afterwards.
        let (chosen, _) = try ClusterReplicas.choose(listed, cluster: cluster, interrupt: context.interrupt, client: client)
        let shards = chosen.map { primary -> RestoreShard in
            let others = listed.filter { $0.shard == primary.shard && $0.replica != primary.replica }.map { client($0) as any RestoreSQL }
            return RestoreShard(shard: primary.shard, primary: primary.client, replicas: [primary.client] + others)
        }
        return RestoreServers(cluster: cluster, shards: shards)
    }
}
