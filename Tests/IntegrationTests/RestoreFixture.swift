import Foundation
import XCTest
@testable import OpsKit

/// A database of the restore tests' own, on the modern node or on every node of the 2×2 cluster:
/// a copy of the seed table's shape with rows in a few daily partitions, so the tests can damage
/// and restore it without touching the tables other tests count. Dropped at the end.
final class RestoreFixture {
    let database: String
    /// One client per server: the modern node, or the cluster's four nodes (shard, replica).
    let servers: [(shard: Int, replica: Int, client: ClickHouseHTTP)]
    let clustered: Bool
    /// The table that holds the data (`metrics_local` on the cluster, `metrics` on the modern node).
    let dataTable: String
    /// The table reads go through (`metrics`, Distributed on the cluster).
    let readTable: String

    static let columns = "timestamp DateTime, tenant String, metric_name String, labels String, value Float64"

    private init(database: String, servers: [(Int, Int, ClickHouseHTTP)], clustered: Bool) {
        self.database = database
        self.servers = servers.map { (shard: $0.0, replica: $0.1, client: $0.2) }
        self.clustered = clustered
        dataTable = clustered ? "metrics_local" : "metrics"
        readTable = "metrics"
    }

    /// The modern node, with `metrics` (MergeTree) holding `rows` rows in each of `days` partitions
    /// from 2026-11-01.
    static func modern(days: Int = 5, rows: Int = 1000) throws -> RestoreFixture {
        let env = try Sandbox.require(["LUMINATECTL_MODERN_CLICKHOUSE_URL", "LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE"])
        let password = try Sandbox.password(fromFile: env["LUMINATECTL_MODERN_CLICKHOUSE_PASSWORD_FILE"]!)
        let client = ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: env["LUMINATECTL_MODERN_CLICKHOUSE_URL"]!, user: "ops", password: password),
                                    transport: CurlTransport(), interrupt: Interrupt())
        let fixture = RestoreFixture(database: "rit_\(UUID().uuidString.prefix(8).lowercased())", servers: [(1, 1, client)], clustered: false)
        try fixture.create()
        try fixture.insert(days: days, rows: rows)
        return fixture
    }

    /// The 18.16 cluster: `metrics_local` (ReplicatedMergeTree, its own ZooKeeper path) on every
    /// node and `metrics` (Distributed) over it; rows inserted through the Distributed table.
    static func cluster(days: Int = 5, rows: Int = 1000) throws -> RestoreFixture {
        let env = try Sandbox.require(["LUMINATECTL_SANDBOX_JSON", "LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"])
        let password = try Sandbox.password(fromFile: env["LUMINATECTL_CLICKHOUSE_PASSWORD_FILE"]!)
        let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: env["LUMINATECTL_SANDBOX_JSON"]!)))
        let nodes = json["clickhouse"]?["nodes"]?.array ?? []
        let servers = nodes.compactMap { node -> (Int, Int, ClickHouseHTTP)? in
            guard let shard = node["shard"]?.int, let replica = node["replica"]?.int, let url = node["url"]?.string else { return nil }
            return (shard, replica, ClickHouseHTTP(endpoint: ClickHouseEndpoint(url: url, user: "ops", password: password),
                                                   transport: CurlTransport(), interrupt: Interrupt()))
        }
        XCTAssertEqual(servers.count, 4)
        let fixture = RestoreFixture(database: "rit_\(UUID().uuidString.prefix(8).lowercased())", servers: servers, clustered: true)
        try fixture.create()
        try fixture.insert(days: days, rows: rows)
        return fixture
    }

    var first: ClickHouseHTTP { servers[0].client }

    private func create() throws {
        for server in servers {
            try server.client.execute("CREATE DATABASE \(database)")
            if clustered {
                try server.client.execute("""
                    CREATE TABLE \(database).metrics_local (\(Self.columns)) ENGINE = ReplicatedMergeTree('/clickhouse/tables/\(server.shard)/\(database)/metrics_local', '\(server.replica)') PARTITION BY toYYYYMMDD(timestamp) ORDER BY (tenant, metric_name, timestamp)
                    """)
                try server.client.execute("CREATE TABLE \(database).metrics (\(Self.columns)) ENGINE = Distributed(luminate, \(database), metrics_local, rand())")
            } else {
                try server.client.execute("CREATE TABLE \(database).metrics (\(Self.columns)) ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (tenant, metric_name, timestamp)")
            }
        }
    }

    /// `rows` rows a day from `start` (2026-11-01), deterministic values.
    func insert(days: Int, rows: Int, start: String = "2026-11-01", tenant: String = "acme") throws {
        let sql = """
            INSERT INTO \(database).\(readTable) SELECT toDateTime('\(start) 00:00:00', 'UTC') + intDiv(number, \(rows)) * 86400 + (number % \(rows)) * 60,
            '\(tenant)', concat('m', toString(number % 7)), '{}', toFloat64(number) / 3 FROM system.numbers LIMIT \(days * rows)
            """
        // Inserts into a Distributed table are asynchronous unless asked otherwise.
        try first.execute(sql, options: .init(settings: clustered ? ["insert_distributed_sync": "1"] : [:]))
        try syncReplicas()
    }

    func syncReplicas() throws {
        guard clustered else { return }
        for server in servers { try server.client.execute("SYSTEM SYNC REPLICA \(database).metrics_local", options: .init(timeout: 120)) }
    }

    private struct PartitionRow: Decodable { var partition: String; var rows: FlexibleUInt64; var checksum: FlexibleUInt64 }

    /// Rows and `sum(cityHash64(*))` per partition, through the read table.
    func partitions(on client: ClickHouseHTTP? = nil, table: String? = nil) throws -> [String: [UInt64]] {
        let rows = try (client ?? first).query(
            "SELECT toString(toYYYYMMDD(timestamp)) AS partition, count() AS rows, sum(cityHash64(*)) AS checksum FROM \(database).\(table ?? readTable) GROUP BY partition ORDER BY partition",
            as: PartitionRow.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.partition, [$0.rows.value, $0.checksum.value]) })
    }

    /// The same of one server's local table: for comparing replicas.
    func local(_ server: ClickHouseHTTP) throws -> [String: [UInt64]] { try partitions(on: server, table: dataTable) }

    func execute(_ sql: String) throws {
        try first.execute(sql, options: .init(settings: clustered ? ["insert_distributed_sync": "1"] : [:]))
    }

    /// Damages each partition: drops it and writes a third of its rows back (other values), as
    /// a bad change would. (18.16's mutations on replicated tables are too slow to wait for.)
    func damage(_ partitions: [String]) throws {
        for partition in partitions {
            for server in clustered ? servers.filter({ $0.replica == 1 }) : servers {
                try server.client.execute("ALTER TABLE \(database).\(dataTable) DROP PARTITION ID '\(partition)'")
            }
            let day = "\(partition.prefix(4))-\(partition.dropFirst(4).prefix(2))-\(partition.suffix(2))"
            try insert(days: 1, rows: 333, start: day, tenant: "damaged")
        }
        try syncReplicas()
    }

    func databases(named name: String) throws -> Int {
        struct Row: Decodable { var name: String }
        return try servers.reduce(0) { $0 + (try $1.client.query("SELECT name FROM system.databases WHERE name = '\(name)'", as: Row.self)).count }
    }

    deinit {
        for server in servers { try? server.client.execute("DROP DATABASE IF EXISTS \(database)") }
    }
}
